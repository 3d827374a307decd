// Building blocks for scenario threads: a process (an mm and the count of its threads that
// still use it), a one-shot event, and latency recording of named operations.
#pragma once
#include <string>

#include "kernel/paths.h"
#include "sim/engine.h"

namespace sd::workload {

struct process {
  mm::mm_struct* mm = nullptr;
  int users = 0;  // threads that will still call leave()

  sim::task<> enter(kern::kernel& k, unsigned cpu) { co_await kern::switch_to_task(k, cpu, *mm); }
  // The thread exits: the last one tears the mm down (exit_mmap), then the CPU idles.
  sim::task<> leave(kern::kernel& k, unsigned cpu) {
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
  std::uint64_t value() const { return value_; }
  sim::task<> wait_for(kern::kernel& k, std::uint64_t v) {
    while (value_ < v) co_await k.eng.wait(q_);
  }

 private:
  std::uint64_t value_ = 0;
  sim::wait_queue q_;
};

// Runs `op` and records its simulated latency under `name` (metrics op_latency), with the
// TLB flushes requested meanwhile (by any CPU: scenarios time operations while nothing
// else flushes).
inline sim::task<> timed(kern::kernel& k, std::string name, sim::task<> op) {
  const sim::sim_time t0 = k.eng.step_end();
  const std::uint64_t f0 = k.stats.flush_requests;
  co_await std::move(op);
  k.stats.record_op(name, k.eng.step_end() - t0, k.stats.flush_requests - f0);
}

}  // namespace sd::workload
