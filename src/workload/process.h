// Building blocks for scenario threads: a process (an mm and the count of its threads that
// still use it), a one-shot event, and latency recording of named operations.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "kernel/paths.h"
#include "sim/engine.h"
#include "workload/params.h"
#include "workload/threads.h"

namespace sd::workload {

// Where scenarios map their regions: 1 TiB, aligned to every page-table level below PGD.
inline constexpr mm::va_t k_user_base = mm::va_t{1} << 40;

struct process {
  mm::mm_struct* mm = nullptr;
  int users = 0;  // threads that will still call leave()

  sim::task<> enter(kern::kernel& k, unsigned cpu) { co_await kern::switch_to_task(k, cpu, *mm); }
  // The thread exits: the last one tears the mm down (exit_mmap), then the CPU idles.
  sim::task<> leave(kern::kernel& k, unsigned cpu) {
    // kernel/exit.c do_exit: perf_event_exit_task (which hands the task's inherited counters
    // to its parent) comes before exit_mm, so per-process counting sees none of the exit's
    // flushes and syncs (2026 tree; on this machine's 6.18.44 too, traced with perf record).
    k.cpus[cpu].perf_task = false;
    if (--users == 0) co_await kern::mmput_last(k, cpu);
    co_await kern::switch_to_idle(k, cpu);
  }
};

class event {
 public:
  void set(kern::kernel& k) {
    set_ = true;
    k.eng.wake_all(q_);
  }
  void clear() { set_ = false; }  // waiters block again until the next set
  bool is_set() const { return set_; }
  sim::task<> wait(kern::kernel& k) {
    while (!set_) co_await k.eng.wait(q_);
  }

 private:
  bool set_ = false;
  sim::wait_queue q_;
};

// A counter that threads wait on until it reaches a value (a reusable event).
class sequence {
 public:
  void advance(kern::kernel& k) {
    ++value_;
    k.eng.wake_all(q_);
  }
  sim::task<> wait_for(kern::kernel& k, std::uint64_t v) {
    while (value_ < v) co_await k.eng.wait(q_);
  }

 private:
  std::uint64_t value_ = 0;
  sim::wait_queue q_;
};

// Threads of `proc` on CPUs [first_cpu, first_cpu + n) that (after `started`, if given) run
// user code until `done` is set: the sibling threads whose CPUs a flush must reach.
inline void spawn_spinners(thread_group& threads, std::shared_ptr<process> proc,
                           std::shared_ptr<event> done, std::shared_ptr<barrier> started,
                           unsigned first_cpu, unsigned n) {
  proc->users += static_cast<int>(n);
  for (unsigned c = first_cpu; c < first_cpu + n; ++c)
    threads.spawn(c, [proc, done, started](kern::kernel& k, unsigned cpu) -> sim::task<> {
      co_await proc->enter(k, cpu);
      if (started) co_await started->arrive_and_wait(k);
      // User code until `done`: blocked in user mode with IRQs on, so IPIs still cut in but
      // a long stretch with nothing happening costs no simulation steps.
      k.cpus[cpu].mode = hw::cpu_mode::user;
      co_await done->wait(k);
      co_await proc->leave(k, cpu);
    });
}

// Nothing if the CPUs that `keys` (plus `extra` CPUs, named in `what`) need fit the
// machine, else the problem for the scenario's validate().
inline param_problem need_cpus(unsigned cpus, const param_values& p,
                               std::vector<std::string_view> keys, std::int64_t extra = 0,
                               std::string_view extra_what = "") {
  std::int64_t need = extra;
  std::string what;
  for (auto k : keys) {
    need += p.find(k)->second;
    what += (what.empty() ? "" : " + ") + std::string(k);
  }
  if (extra) what += " + " + std::string(extra_what);
  if (need <= static_cast<std::int64_t>(cpus)) return {};
  keys.push_back("cpus");
  return {what + " need " + std::to_string(need) + " CPUs, the machine has " + std::to_string(cpus),
          std::move(keys)};
}

// Runs `op` on `cpu` and records its simulated latency under `name` (metrics op_latency),
// with the TLB flushes that CPU requested meanwhile.
inline sim::task<> timed(kern::kernel& k, unsigned cpu, std::string name, sim::task<> op) {
  const sim::sim_time t0 = k.eng.step_end();
  const std::uint64_t f0 = k.stats.flush_requests_per_cpu[cpu];
  co_await std::move(op);
  k.stats.record_op(name, k.eng.step_end() - t0, k.stats.flush_requests_per_cpu[cpu] - f0);
}

}  // namespace sd::workload
