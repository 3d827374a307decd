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
#include <queue>
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

// Discrete-event order: (time, actor id). Lazy deletion keeps update O(log n).
class timed_scheduler final : public scheduler {
 public:
  void resize(std::size_t actors) override { version_.resize(actors, 0); }
  void update(actor_id a, std::optional<sim_time> at) override {
    ++version_[a];
    if (at) heap_.push({*at, a, version_[a]});
  }
  std::optional<actor_id> next() override {
    while (!heap_.empty()) {
      entry e = heap_.top();
      if (e.version == version_[e.actor]) return e.actor;
      heap_.pop();
    }
    return std::nullopt;
  }

 private:
  struct entry {
    sim_time at;
    actor_id actor;
    std::uint64_t version;
    bool operator>(const entry& o) const { return at != o.at ? at > o.at : actor > o.actor; }
  };
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
  std::vector<std::uint64_t> version_;
};

}  // namespace sd::sim
