// RCU as the flush paths see it (kernel-mechanisms s9): one flavour whose grace periods
// wait for every reader, and IRQs-off regions count as readers. call_rcu() callbacks run
// after a grace period that began after they were queued. A grace period lasts at least
// cost rcu_gp and until every CPU that was inside a reader at its start has left it.
// The grace-period kthread is an actor of its own.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/engine.h"
#include "sim/task.h"

namespace sd::kern {
struct kernel;
}

namespace sd::mm {

class rcu_state {
 public:
  using callback = std::function<void(kern::kernel&)>;

  void call_rcu(sim::engine& e, callback cb);
  // synchronize_rcu(): queue a callback and sleep until a grace period ran it.
  sim::task<> synchronize_rcu(kern::kernel& k);
  // Reader bookkeeping, called by kernel::local_irq_disable/enable.
  void reader_enter(kern::kernel& k, unsigned cpu);
  void reader_exit(kern::kernel& k, unsigned cpu);

  // The grace-period kthread's program; it exits when `done()` says the workload ended and
  // nothing is queued.
  sim::task<> gp_kthread(kern::kernel& k);
  // Not a wake-up: the kthread sleeps until a callback is queued or poke() says the
  // workload ended, as rcu_gp_kthread sleeps on gp_wq until a grace period is requested
  // (kernel/rcu/tree.c, swait_event_idle_exclusive on RCU_GP_FLAG_INIT). A wake here would
  // give it a step that finds nothing to do, which `check` would place at every point of
  // every schedule.
  void set_done(std::function<bool()> done) { done_ = std::move(done); }
  void poke(sim::engine& e) { e.wake_all(has_callbacks_); }
  std::size_t pending() const { return pending_.size(); }

 private:
  std::vector<callback> pending_;
  sim::wait_queue has_callbacks_;
  sim::wait_queue readers_done_;
  std::uint32_t outstanding_readers_ = 0;
  std::function<bool()> done_;
};

}  // namespace sd::mm
