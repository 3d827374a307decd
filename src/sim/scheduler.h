// The scheduler decides which actor makes the next step.
//
// Contract: the engine reports every change of an actor's eligibility with `update`
// (eligible at time t, or not eligible). `next` returns an eligible actor, or nothing when
// none is. A scheduler may not change model state; it only chooses. Two implementations:
// timed_scheduler (earliest time first, ties by actor id: simulate/compare) and an
// exploring scheduler that picks by a choice sequence (check; see tests/unit/engine_test).
#pragma once
#include <cstdint>
#include <optional>
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
};

// Discrete-event order: (time, actor id), a strict total order, so the actor picked never
// depends on how the heap is laid out. An indexed binary heap: each actor is in it at most
// once and knows its position, so an update moves it in place (O(log n), no stale entries
// to pop later, no allocation once every actor was seen).
class timed_scheduler final : public scheduler {
 public:
  void resize(std::size_t actors) override {
    pos_.resize(actors, npos);
    at_.resize(actors, 0);
  }
  void update(actor_id a, std::optional<sim_time> at) override {
    if (!at) {
      if (pos_[a] != npos) remove(pos_[a]);
      return;
    }
    at_[a] = *at;
    if (pos_[a] == npos) {
      pos_[a] = heap_.size();
      heap_.push_back(a);
    }
    sift_down(sift_up(pos_[a]));
  }
  std::optional<actor_id> next() override {
    if (heap_.empty()) return std::nullopt;
    return heap_.front();
  }

 private:
  static constexpr std::size_t npos = ~std::size_t{0};
  bool before(actor_id x, actor_id y) const { return at_[x] != at_[y] ? at_[x] < at_[y] : x < y; }
  void place(std::size_t i, actor_id a) {
    heap_[i] = a;
    pos_[a] = i;
  }
  std::size_t sift_up(std::size_t i) {
    const actor_id a = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(a, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, a);
    return i;
  }
  void sift_down(std::size_t i) {
    const actor_id a = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], a)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, a);
  }
  void remove(std::size_t i) {
    const actor_id gone = heap_[i];
    const actor_id last = heap_.back();
    heap_.pop_back();
    pos_[gone] = npos;
    if (i == heap_.size()) return;
    place(i, last);
    sift_down(sift_up(i));
  }
  std::vector<actor_id> heap_;
  std::vector<std::size_t> pos_;  // per actor: index in heap_, or npos
  std::vector<sim_time> at_;      // per actor: when it is eligible (while in the heap)
};

}  // namespace sd::sim
