// timed_scheduler packs (time, actor) into one 64-bit key (sim/scheduler.h): the order it
// serves must be exactly the (time, actor id) order, at any time it accepts.
#include "sim/scheduler.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <utility>

namespace {

using sd::sim::actor_id;
using sd::sim::never;
using sd::sim::sim_time;
using sd::sim::timed_scheduler;

// Random updates (new times, removals, re-insertions, ties, times at both ends of the
// range) against a reference ordered set: after each, next() is the set's first actor.
TEST(TimedScheduler, ServesTheTimeThenActorOrderOfAReferenceSet) {
  constexpr actor_id k_actors = 4097;  // 4096 CPUs and the RCU kthread
  timed_scheduler s;
  s.resize(k_actors);
  std::set<std::pair<sim_time, actor_id>> ref;
  std::vector<sim_time> at(k_actors, never);
  std::mt19937_64 gen(12);
  const sim_time last = timed_scheduler::k_max_time - 1;
  for (int i = 0; i < 200'000; ++i) {
    const auto a = static_cast<actor_id>(gen() % k_actors);
    const auto kind = gen() % 6;
    sim_time t = never;                                    // kind 0: not eligible
    if (kind == 1) t = static_cast<sim_time>(gen() % 16);  // many ties
    if (kind == 2) t = last - static_cast<sim_time>(gen() % 16);
    if (kind >= 3) t = static_cast<sim_time>(gen() % static_cast<std::uint64_t>(last));
    if (at[a] != never) ref.erase({at[a], a});
    at[a] = t;
    if (t != never) ref.insert({t, a});
    s.update_time(a, t);
    const auto next = s.next();
    ASSERT_EQ(next.has_value(), !ref.empty()) << "update " << i;
    if (next) {
      ASSERT_EQ(*next, ref.begin()->second) << "update " << i;
    }
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

}  // namespace
