// Workload threads pinned to CPUs, and a barrier between them. The run's simulated time
// ends when the last thread finishes; RCU callbacks still pending then are drained.
#pragma once
#include <deque>
#include <functional>

#include "kernel/kernel.h"

namespace sd::workload {

using thread_fn = std::function<sim::task<>(kern::kernel&, unsigned cpu)>;

class thread_group {
 public:
  explicit thread_group(kern::kernel& k) : k_(k) {
    k_.rcu.set_done([this] { return live_ == 0; });
  }
  thread_group(const thread_group&) = delete;
  thread_group& operator=(const thread_group&) = delete;

  void spawn(unsigned cpu, thread_fn body, sim::sim_time at = 0) {
    ++live_;
    bodies_.push_back(std::move(body));  // deque: coroutine lambdas must never move
    k_.eng.start(cpu, run(bodies_.size() - 1, cpu), at);
  }
  int live() const { return live_; }

 private:
  sim::task<> run(std::size_t i, unsigned cpu) {
    co_await bodies_[i](k_, cpu);
    if (--live_ == 0) {
      k_.stats.sim_time_ns = k_.eng.step_end();
      k_.rcu.poke(k_.eng);
    }
  }
  kern::kernel& k_;
  std::deque<thread_fn> bodies_;
  int live_ = 0;
};

class barrier {
 public:
  explicit barrier(int parties) : parties_(parties) {}
  sim::task<> arrive_and_wait(kern::kernel& k) {
    co_await k.step(cost::param::atomic);
    const std::uint64_t gen = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      k.eng.wake_all(q_);
      co_return;
    }
    while (gen == generation_) co_await k.eng.wait(q_);
  }

 private:
  int parties_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  sim::wait_queue q_;
};

}  // namespace sd::workload
