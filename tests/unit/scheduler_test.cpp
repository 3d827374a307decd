// timed_scheduler packs (time, actor) into one 64-bit key and keeps keys that arrive in
// ascending order in a run beside its heap (sim/scheduler.h): the order it serves must be
// exactly the (time, actor id) order, at any time it accepts, whichever of the two holds
// an actor.
#include "sim/scheduler.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <set>
#include <utility>

namespace {

using sd::sim::actor_id;
using sd::sim::never;
using sd::sim::sim_time;
using sd::sim::timed_scheduler;

// Applies each update to the scheduler and to a reference ordered set; after each,
// next() must be the set's first actor.
class reference_check {
 public:
  explicit reference_check(actor_id actors) : at_(actors, never) { s_.resize(actors); }
  void update(actor_id a, sim_time t) {
    if (at_[a] != never) ref_.erase({at_[a], a});
    at_[a] = t;
    if (t != never) ref_.insert({t, a});
    s_.update_time(a, t);
    const auto next = s_.next();
    ASSERT_EQ(next.has_value(), !ref_.empty()) << "update " << updates_;
    if (next) {
      ASSERT_EQ(*next, ref_.begin()->second) << "update " << updates_;
    }
    ++updates_;
  }
  std::optional<std::pair<sim_time, actor_id>> first() const {
    if (ref_.empty()) return std::nullopt;
    return *ref_.begin();
  }

 private:
  timed_scheduler s_;
  std::set<std::pair<sim_time, actor_id>> ref_;
  std::vector<sim_time> at_;
  int updates_ = 0;
};

constexpr actor_id k_actors = 4097;  // 4096 CPUs and the RCU kthread

// Random updates (new times, removals, re-insertions, ties, times at both ends of the
// range): mostly out of order, so mostly the heap.
TEST(TimedScheduler, ServesTheTimeThenActorOrderOfAReferenceSet) {
  reference_check c(k_actors);
  std::mt19937_64 gen(12);
  const sim_time last = timed_scheduler::k_max_time - 1;
  for (int i = 0; i < 200'000; ++i) {
    const auto a = static_cast<actor_id>(gen() % k_actors);
    const auto kind = gen() % 6;
    sim_time t = never;                                    // kind 0: not eligible
    if (kind == 1) t = static_cast<sim_time>(gen() % 16);  // many ties
    if (kind == 2) t = last - static_cast<sim_time>(gen() % 16);
    if (kind >= 3) t = static_cast<sim_time>(gen() % static_cast<std::uint64_t>(last));
    ASSERT_NO_FATAL_FAILURE(c.update(a, t));
  }
}

// What a broadcast IPI does: a sender raises the IRQ on a few thousand CPUs at one time,
// in CPU order, and each handler then steps again a little later or goes idle. Those keys
// arrive in ascending order (the run); mixed in: sleepers far ahead that block the run,
// removals from its middle (so that it is compacted), and random updates.
TEST(TimedScheduler, ServesBroadcastCohortsInOrderWhileTheRunIsBlockedAndCompacted) {
  reference_check c(k_actors);
  std::mt19937_64 gen(7);
  sim_time now = 0;
  for (int round = 0; round < 60; ++round) {
    const sim_time lat = 100 + static_cast<sim_time>(gen() % 50);
    const auto first = static_cast<actor_id>(gen() % 64);
    const auto stride = static_cast<actor_id>(1 + gen() % 3);
    for (actor_id a = first; a < k_actors; a += stride)
      ASSERT_NO_FATAL_FAILURE(c.update(a, now + lat));
    if (round % 3 == 0) {  // a sleeper far ahead, raised after the cohort
      ASSERT_NO_FATAL_FAILURE(c.update(static_cast<actor_id>(gen() % k_actors), now + 1'000'000));
    }
    // Step the earliest actor until the cohort has gone idle (each member steps four times
    // on average) or its stragglers are 10 us ahead.
    for (int step = 0; step < 40'000; ++step) {
      const auto f = c.first();
      if (!f || f->first > now + 10'000) break;
      now = f->first;
      const auto kind = gen() % 16;
      sim_time t = now + 20 + static_cast<sim_time>(gen() % 3) * 10;  // the handler's next step
      if (kind < 4) t = never;                                        // done: idle
      ASSERT_NO_FATAL_FAILURE(c.update(f->second, t));
      if (kind == 15) {  // someone else leaves, maybe from the middle of the run
        const auto a = static_cast<actor_id>(gen() % k_actors);
        ASSERT_NO_FATAL_FAILURE(c.update(a, never));
      }
      if (kind == 14) {  // or moves to a random time
        const auto a = static_cast<actor_id>(gen() % k_actors);
        ASSERT_NO_FATAL_FAILURE(c.update(a, now + static_cast<sim_time>(gen() % 5'000)));
      }
    }
    now += 20'000;
  }
}

TEST(TimedScheduler, TimeBeyondItsRangeIsAnErrorNotAWrongOrder) {
  timed_scheduler s;
  s.resize(2);
  s.update_time(0, timed_scheduler::k_max_time - 1);
  EXPECT_THROW(s.update_time(1, timed_scheduler::k_max_time), std::overflow_error);
  EXPECT_THROW(s.update_time(1, -1), std::overflow_error);
  EXPECT_THROW(s.resize(timed_scheduler::k_max_actors + 1), std::length_error);
  EXPECT_EQ(s.next(), actor_id{0});
}

// The last actor at the last time still has a key below k_dead, the heap's sentinel and
// the run's marker of a removed entry: it is served, not taken for an empty scheduler.
TEST(TimedScheduler, TheLastActorAtTheLastTimeIsServed) {
  timed_scheduler s;
  s.resize(timed_scheduler::k_max_actors);
  const auto last = static_cast<actor_id>(timed_scheduler::k_max_actors - 1);
  s.update_time(last, timed_scheduler::k_max_time - 1);  // joins the run
  EXPECT_EQ(s.next(), last);
  s.update_time(0, timed_scheduler::k_max_time - 2);  // breaks the run: both in the heap
  s.update_time(0, never);
  EXPECT_EQ(s.next(), last);
}

}  // namespace
