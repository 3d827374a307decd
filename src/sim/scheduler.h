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
  // False for a scheduler that picks by choices, not time (check): the engine then does not
  // compute eligibility times for it.
  virtual bool uses_time() const { return true; }
};

// Discrete-event order: (time, actor id), a strict total order, so the actor picked never
// depends on how the heap is laid out. An indexed binary heap: each actor is in it at most
// once and knows its position, so an update moves it in place (O(log n), no stale entries
// to pop later, no allocation once every actor was seen).
class timed_scheduler final : public scheduler {
 public:
  void resize(std::size_t actors) override { pos_.resize(actors, npos); }
  void update(actor_id a, std::optional<sim_time> at) override {
    update_time(a, at.value_or(never));
  }
  // The engine's call: `never` for not eligible.
  void update_time(actor_id a, sim_time at) {
    if (at == never) {
      if (pos_[a] != npos) remove(pos_[a]);
      return;
    }
    std::size_t i = pos_[a];
    if (i == npos) {
      i = heap_.size();
      heap_.push_back({at, a});
    } else {
      // Unchanged (an IRQ raised on an actor that is ready anyway): nothing moves.
      if (heap_[i].at == at) return;
      heap_[i].at = at;
    }
    sift_down(sift_up(i));
  }
  std::optional<actor_id> next() override {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().actor;
  }

 private:
  static constexpr std::size_t npos = ~std::size_t{0};
  // The key sits in the heap itself, so comparing children reads adjacent memory.
  struct entry {
    sim_time at;
    actor_id actor;
    bool operator<(const entry& o) const { return at != o.at ? at < o.at : actor < o.actor; }
  };
  void place(std::size_t i, const entry& e) {
    heap_[i] = e;
    pos_[e.actor] = i;
  }
  std::size_t sift_up(std::size_t i) {
    const entry e = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!(e < heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
    return i;
  }
  void sift_down(std::size_t i) {
    const entry e = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1] < heap_[child]) ++child;
      if (!(heap_[child] < e)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, e);
  }
  void remove(std::size_t i) {
    pos_[heap_[i].actor] = npos;
    const entry last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    place(i, last);
    sift_down(sift_up(i));
  }
  std::vector<entry> heap_;
  std::vector<std::size_t> pos_;  // per actor: index in heap_, or npos
};

}  // namespace sd::sim
