// The scheduler decides which actor makes the next step.
//
// Contract: the engine reports every change of an actor's eligibility with `update`
// (eligible at time t, or not eligible). `next` returns an eligible actor, or nothing when
// none is. A scheduler may not change model state; it only chooses. Two implementations:
// timed_scheduler (earliest time first, ties by actor id: simulate/compare) and an
// exploring scheduler that picks by a choice sequence (check; see tests/unit/engine_test).
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "sim/time.h"

namespace sd::sim {

using actor_id = std::uint32_t;

class scheduler {
 public:
  virtual ~scheduler() = default;
  virtual void resize(std::size_t actors) = 0;
  virtual void update(actor_id a, std::optional<sim_time> eligible_at) = 0;
  virtual std::optional<actor_id> next() = 0;
  // False for a scheduler that picks by choices, not time (check): the engine then does not
  // compute eligibility times for it.
  virtual bool uses_time() const { return true; }
};

// Discrete-event order: (time, actor id), a strict total order, so the actor picked never
// depends on how the heap is laid out. An indexed binary heap: each actor is in it at most
// once and knows its position, so an update moves it in place (O(log n), no stale entries
// to pop later, no allocation once every actor was seen). Each entry is one 64-bit key,
// time above actor id, so that comparing two is one integer compare and the heap is half
// the size of (time, id) pairs: 12% less time for munmap-free-tables x86 at 1024 CPUs, 15%
// for tlb-flush-threads x86 at 4096 (issue 12, docs/performance.md). The price: at most
// 8191 actors (4096 CPUs and the kernel threads need 4097; the key of an actor 8191 at the
// last time would be k_dead, the marker of no key) and times below 2^51 ns (26
// days of simulated time; khugepaged-collapse at its largest scan_sleep and ranges, 60 s x
// 4096, simulates 68 hours).
//
// Beside the heap, a run: keys that arrive in ascending order are appended to a sorted
// array instead, and next() takes the earlier of its front and the heap's top. A broadcast
// IPI raises thousands of CPUs at one time in CPU order, and each handler's next step
// comes after all of those (the same costs, in the same order): in the heap every such
// step sank through all 12 levels (28% of hugetlb-fork-exit x86 at 4096 CPUs), in the run
// it is an append. An actor is in one of the two. A key that would break the run's order
// first moves the run's last entry to the heap (often the one late entry, a sleeper or the
// sender queued behind a cohort, so that it does not close the run for the rest), then
// joins the run if it now fits and the heap if not.
class timed_scheduler final : public scheduler {
 public:
  // Packed keys: (time << k_actor_bits) | actor orders as (time, actor) does.
  static constexpr unsigned k_actor_bits = 13;
  static constexpr std::size_t k_max_actors = (std::size_t{1} << k_actor_bits) - 1;
  static constexpr sim_time k_max_time = sim_time{1} << (64 - k_actor_bits);  // excluded

  void resize(std::size_t actors) override {
    if (actors > k_max_actors)
      throw std::length_error("the timed scheduler holds at most 8191 actors");
    pos_.resize(actors, npos);
  }
  void update(actor_id a, std::optional<sim_time> at) override {
    update_time(a, at.value_or(never));
  }
  // The engine's call: `never` for not eligible.
  void update_time(actor_id a, sim_time at) {
    std::uint32_t i = pos_[a];
    if (at == never) {
      if (i == npos) return;
      if (i & k_in_run)
        kill_run_entry(i);
      else
        remove(i);
      return;
    }
    // One unsigned compare: a negative time wraps above the bound too.
    if (static_cast<std::uint64_t>(at) >= std::uint64_t{k_max_time}) [[unlikely]]
      throw std::overflow_error(
          "simulated time beyond 2^51 ns (26 days): a cost or time far too large");
    const std::uint64_t key = std::uint64_t(at) << k_actor_bits | a;
    if (i != npos && !(i & k_in_run)) {
      // Unchanged (an IRQ raised on an actor that is ready anyway): nothing moves.
      if (heap_[i] == key) return;
      heap_[i] = key;
      sift_down(sift_up(i));
      return;
    }
    if (i != npos) {
      if (run_[i & ~k_in_run] == key) return;
      kill_run_entry(i);
    }
    if (run_live_ != 0 && key < run_.back()) {
      const std::uint64_t moved = run_.back();
      run_.pop_back();
      push_heap_key(moved);
      drop_dead_tail();
    }
    if (run_live_ == 0 || key >= run_.back()) {
      pos_[a] = k_in_run | static_cast<std::uint32_t>(run_.size());
      run_.push_back(key);
      if (run_live_++ == 0) run_front_ = key;
      return;
    }
    push_heap_key(key);
  }
  std::optional<actor_id> next() override {
    const std::uint64_t first = std::min(heap_.front(), run_front_);  // k_dead when empty
    if (first == k_dead) return std::nullopt;
    return actor_of(first);
  }

 private:
  static constexpr std::uint32_t npos = ~std::uint32_t{0};
  static constexpr std::uint32_t k_in_run = std::uint32_t{1} << 31;
  // A removed run entry, and the heap's end (heap_[n_]): no key equals it (k_max_actors).
  static constexpr std::uint64_t k_dead = ~std::uint64_t{0};
  static actor_id actor_of(std::uint64_t key) {
    return static_cast<actor_id>(key & ((std::uint64_t{1} << k_actor_bits) - 1));
  }
  void push_heap_key(std::uint64_t key) {
    const std::uint32_t i = n_++;
    heap_[i] = key;
    heap_.push_back(k_dead);
    sift_up(i);
  }
  void kill_run_entry(std::uint32_t i) {
    const std::uint32_t r = i & ~k_in_run;
    pos_[actor_of(run_[r])] = npos;
    run_[r] = k_dead;
    drop_dead_tail();
    if (run_live_ == 0) return;
    while (run_[run_head_] == k_dead) ++run_head_;  // the front stays live too
    if (run_.size() - run_live_ > run_live_ + 64) compact_run();
    run_front_ = run_[run_head_];
  }
  // After an entry left the run. The last entry stays live, so that an append compares with
  // a key (an actor at the back that leaves is common: a handler whose next step was
  // appended goes idle).
  void drop_dead_tail() {
    if (--run_live_ == 0) {
      run_.clear();
      run_head_ = 0;
      run_front_ = k_dead;
      return;
    }
    while (run_.back() == k_dead) run_.pop_back();
  }
  // Drops the dead entries: amortised O(1), since at least half of the run was dead.
  void compact_run() {
    std::size_t out = 0;
    for (std::size_t r = run_head_; r < run_.size(); ++r) {
      if (run_[r] == k_dead) continue;
      pos_[actor_of(run_[r])] = k_in_run | static_cast<std::uint32_t>(out);
      run_[out++] = run_[r];
    }
    run_.resize(out);
    run_head_ = 0;
  }
  void place(std::uint32_t i, std::uint64_t key) {
    heap_[i] = key;
    pos_[actor_of(key)] = i;
  }
  std::uint32_t sift_up(std::uint32_t i) {
    const std::uint64_t e = heap_[i];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / 2;
      if (!(e < heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
    return i;
  }
  void sift_down(std::uint32_t i) {
    const std::uint64_t e = heap_[i];
    for (;;) {
      std::uint32_t child = 2 * i + 1;
      if (child >= n_) break;
      child += heap_[child + 1] < heap_[child];  // heap_[n_] is the sentinel
      if (!(heap_[child] < e)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, e);
  }
  void remove(std::uint32_t i) {
    pos_[actor_of(heap_[i])] = npos;
    heap_.pop_back();
    const std::uint64_t last = heap_[--n_];
    heap_[n_] = k_dead;
    if (i == n_) return;
    place(i, last);
    sift_down(sift_up(i));
  }
  // heap_[0, n_) is the heap; heap_[n_] is k_dead, a sentinel that no key is above, so the
  // sift compares a last left child with it instead of testing for a right one, and next()
  // reads heap_[0] without testing for an empty heap.
  std::vector<std::uint64_t> heap_{k_dead};
  std::uint32_t n_ = 0;
  // Keys in ascending order from run_head_; removed ones are k_dead until compacted, but
  // never the first or the last one.
  std::vector<std::uint64_t> run_;
  std::size_t run_head_ = 0;
  std::size_t run_live_ = 0;
  // run_[run_head_], or k_dead when the run is empty: next() reads one word.
  std::uint64_t run_front_ = k_dead;
  std::vector<std::uint32_t> pos_;  // per actor: index in heap_, k_in_run | index in run_, or npos
};

}  // namespace sd::sim
