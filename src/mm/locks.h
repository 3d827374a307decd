// Kernel locks on top of the engine's wait queues: a spinlock (PTE lock, page_table_lock)
// and an rw-semaphore (mmap_lock, per-VMA lock). Waiters block with IRQs as they were, so
// a CPU spinning with IRQs on still answers IPIs, as in the kernel.
#pragma once
#include "sim/engine.h"

namespace sd::mm {

// spinlock_t as the queued spinlock (kernel/locking/qspinlock.c, 2026 tree): a CPU that
// finds the lock held, or other CPUs already waiting, joins the MCS queue ("if we observe
// any contention; queue"), and an unlock hands the lock to the head of that queue,
// which claims the lock word (one atomic step) before it goes on. A later arrival cannot
// take the lock from a queued waiter. Not modeled: the pending bit (a cheaper wait for the
// first contender, in the same order), and on x86-kvm the paravirt spinlock's lock stealing
// (qspinlock_paravirt.h, pv_hybrid_queued_unfair_trylock): there, too, the lock goes in
// queue order.
class spinlock {
 public:
  sim::task<> lock(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "spin_lock");
    if (!locked_) {  // held while anyone waits: see unlock()
      locked_ = true;
      co_return;
    }
    co_await e.wait(q_);                        // woken as the owner
    co_await e.step(atomic_cost, "spin_lock");  // the queue head claims the lock word
  }
  void unlock(sim::engine& e) {
    if (q_.empty()) {
      locked_ = false;
      return;
    }
    e.wake_one(q_);  // handed over: locked_ stays set
  }
  // spin_trylock() (queued_spin_trylock): one atomic step that takes the lock only if the
  // lock word is zero, so never while it is held or handed over to a queued waiter.
  sim::task<bool> try_lock(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "spin_trylock");
    if (locked_) co_return false;
    locked_ = true;
    co_return true;
  }
  // queued_spin_is_locked(): the lock word is not zero while a waiter is queued either.
  bool is_locked() const { return locked_; }

 private:
  bool locked_ = false;
  sim::wait_queue q_;
};

// rw_semaphore (kernel/locking/rwsem.c, 2026 tree). Waiters queue in arrival order, and a
// release hands the lock over as rwsem_mark_wake() does: when the first waiter is a writer,
// that writer alone; when it is a reader, every queued reader at once (the read count is
// raised for them before they wake, "phase-fair"), writers keeping their places. A woken
// waiter holds the lock: it does not re-check and sleep again. Arrivals: a reader waits
// while a writer holds the lock or waits for it; a writer waits unless the lock is free and
// nobody waits. Not modeled: optimistic spinning, reader lock stealing and the 4 ms handoff
// timeout, which decide who wins only when an arrival races a release.
class rw_semaphore {
 public:
  sim::task<> down_read(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "down_read");
    if (!writer_ && queue_.empty()) {  // queued readers always wait behind a writer
      ++readers_;
      co_return;
    }
    waiter w{false, {}};
    queue_.push_back(&w);
    co_await e.wait(w.granted);  // woken holding the lock
  }
  void up_read(sim::engine& e) {
    if (--readers_ == 0) hand_over(e, false);
  }
  sim::task<> down_write(sim::engine& e, sim::sim_time atomic_cost) {
    co_await e.step(atomic_cost, "down_write");
    if (!writer_ && readers_ == 0 && queue_.empty()) {
      writer_ = true;
      co_return;
    }
    waiter w{true, {}};
    queue_.push_back(&w);
    co_await e.wait(w.granted);  // woken holding the lock
  }
  void up_write(sim::engine& e) {
    writer_ = false;
    hand_over(e, false);
  }
  // mmap_write_downgrade() (rwsem_downgrade_wake -> rwsem_mark_wake(RWSEM_WAKE_READ_OWNED)):
  // the writer becomes a reader; queued readers join it unless a writer is first in line.
  void downgrade_write(sim::engine& e) {
    writer_ = false;
    ++readers_;
    hand_over(e, true);
  }

 private:
  struct waiter {
    bool writer;
    sim::wait_queue granted;
  };
  // Called when the lock has no writer and (unless readers_only) no reader.
  void hand_over(sim::engine& e, bool readers_only) {
    if (queue_.empty()) return;
    if (queue_.front()->writer) {
      if (readers_only) return;
      writer_ = true;
      e.wake_one(queue_.front()->granted);
      queue_.pop_front();
      return;
    }
    sim::fifo<waiter*> writers;
    for (waiter* w : queue_) {
      if (w->writer) {
        writers.push_back(w);
        continue;
      }
      ++readers_;
      e.wake_one(w->granted);
    }
    queue_ = std::move(writers);
  }

  int readers_ = 0;
  bool writer_ = false;
  sim::fifo<waiter*> queue_;  // arrival order
};

}  // namespace sd::mm
