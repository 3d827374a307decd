// Kernel locks on top of the engine's wait queues: a spinlock (PTE lock, page_table_lock)
// and an rw-semaphore (mmap_lock, per-VMA lock). Waiters block with IRQs as they were, so
// a CPU spinning with IRQs on still answers IPIs, as in the kernel.
#pragma once
#include "sim/engine.h"

namespace sd::mm {

class spinlock {
 public:
  sim::task<> lock(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "spin_lock");
    while (locked_) {
      co_await e.wait(q_);
      co_await e.step(atomic_cost, "spin_lock");
    }
    locked_ = true;
  }
  void unlock(sim::engine& e) {
    locked_ = false;
    e.wake_one(q_);
  }
  bool is_locked() const { return locked_; }

 private:
  bool locked_ = false;
  sim::wait_queue q_;
};

// Writer-preferring: a waiting writer holds off new readers (rwsem handoff fairness).
class rw_semaphore {
 public:
  sim::task<> down_read(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "down_read");
    while (writer_ || writers_waiting_ > 0) {
      co_await e.wait(q_);
      co_await e.step(atomic_cost, "down_read");
    }
    ++readers_;
  }
  void up_read(sim::engine& e) {
    if (--readers_ == 0) e.wake_all(q_);
  }
  sim::task<> down_write(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "down_write");
    ++writers_waiting_;
    while (writer_ || readers_ > 0) {
      co_await e.wait(q_);
      co_await e.step(atomic_cost, "down_write");
    }
    --writers_waiting_;
    writer_ = true;
  }
  void up_write(sim::engine& e) {
    writer_ = false;
    e.wake_all(q_);
  }
  // mmap_write_downgrade(): keep exclusion against writers, let readers in.
  void downgrade_write(sim::engine& e) {
    writer_ = false;
    ++readers_;
    e.wake_all(q_);
  }

 private:
  int readers_ = 0;
  int writers_waiting_ = 0;
  bool writer_ = false;
  sim::wait_queue q_;
};

}  // namespace sd::mm
