#include "mm/rcu.h"

#include "kernel/kernel.h"

namespace sd::mm {

void rcu_state::call_rcu(sim::engine& e, callback cb) {
  pending_.push_back(std::move(cb));
  e.wake_all(has_callbacks_);
}

sim::task<> rcu_state::synchronize_rcu(kern::kernel& k) {
  bool done = false;
  sim::wait_queue gp_done;
  call_rcu(k.eng, [&done, &gp_done](kern::kernel& kk) {
    done = true;
    kk.eng.wake_all(gp_done);
  });
  while (!done) co_await k.eng.wait(gp_done);
}

void rcu_state::reader_enter(kern::kernel& k, unsigned cpu) {
  ++k.cpus[cpu].rcu_reader_depth;
}

void rcu_state::reader_exit(kern::kernel& k, unsigned cpu) {
  hw::cpu& c = k.cpus[cpu];
  if (--c.rcu_reader_depth > 0 || !c.gp_waits_on_me) return;
  c.gp_waits_on_me = false;
  if (--outstanding_readers_ == 0) k.eng.wake_all(readers_done_);
}

sim::task<> rcu_state::gp_kthread(kern::kernel& k) {
  for (;;) {
    while (pending_.empty()) {
      if (done_ && done_()) co_return;
      co_await k.eng.wait(has_callbacks_);
    }
    // Callbacks queued before this grace period began run at its end (rcu_gp_init).
    std::vector<callback> batch = std::move(pending_);
    pending_.clear();
    outstanding_readers_ = 0;
    for (auto& c : k.cpus)
      if (c.rcu_reader_depth > 0) {
        c.gp_waits_on_me = true;
        ++outstanding_readers_;
      }
    co_await k.step(cost::param::rcu_gp);
    while (outstanding_readers_ > 0) co_await k.eng.wait(readers_done_);
    ++k.stats.rcu_grace_periods;
    for (auto& cb : batch) cb(k);
  }
}

}  // namespace sd::mm
