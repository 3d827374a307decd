// vCPU preemption windows (kernel/vcpu.h): the span stall_at gives around a time at which a
// vCPU runs must be free of windows and bounded by them, since the engine trusts it and
// does not ask again inside it. Checked against a second instance with the same seed,
// asked point by point (its answers do not depend on the order of questions: the cursor
// is only a cache).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernel/vcpu.h"
#include "sim/rng.h"

namespace sd::kern {
namespace {

constexpr unsigned k_cpus = 4;
constexpr sim::sim_time k_interval = 20'000, k_duration = 5'000;

TEST(Vcpu, StallSpanIsFreeOfWindowsAndEndsAtThem) {
  vcpu_preemption asked(k_cpus, 7, k_interval, k_duration);
  vcpu_preemption truth(k_cpus, 7, k_interval, k_duration);
  // Times forward, then shuffled (other CPUs' clocks make queries go back too).
  std::vector<sim::sim_time> times;
  for (sim::sim_time t = 0; t < 400'000; t += 700) times.push_back(t);
  std::vector<sim::sim_time> shuffled = times;
  sim::rng r(1, "vcpu-test", 0);
  for (std::size_t i = shuffled.size() - 1; i > 0; --i)
    std::swap(shuffled[i], shuffled[r.below(i + 1)]);
  times.insert(times.end(), shuffled.begin(), shuffled.end());
  unsigned held = 0, free = 0;
  for (unsigned cpu = 0; cpu < k_cpus; ++cpu)
    for (sim::sim_time t : times) {
      const sim::stall_answer a = asked.stall_at(cpu, t);
      ASSERT_EQ(a.until, truth.preempted_until(cpu, t)) << "cpu " << cpu << " t " << t;
      if (a.until > t) {
        ++held;
        EXPECT_GE(a.runs_from, a.runs_to) << "a held vCPU gives no span";
        continue;
      }
      ++free;
      ASSERT_LE(a.runs_from, t);
      ASSERT_GT(a.runs_to, t);
      // Free at both ends and in between; held just outside (a window bounds it).
      for (sim::sim_time u : {a.runs_from, (a.runs_from + a.runs_to) / 2, a.runs_to - 1})
        EXPECT_EQ(truth.preempted_until(cpu, u), 0) << "cpu " << cpu << " t " << u;
      EXPECT_GT(truth.preempted_until(cpu, a.runs_to), 0) << "span ends before a window";
      if (a.runs_from > 0) {
        EXPECT_GT(truth.preempted_until(cpu, a.runs_from - 1), 0) << "span starts after one";
      }
    }
  // The run met both cases: windows are a quarter of the time.
  EXPECT_GT(held, 100u);
  EXPECT_GT(free, 1000u);
}

// The windows' starts as vcpu.h defines them, up to `horizon`: window 0 starts after gap
// 0, window i+1 starts `duration` plus gap i+1 after window i starts, gap i = interval/2 +
// the CPU's stream at position i modulo interval. Independent of the cursor, whose forward
// and backward moves must land on the same windows.
std::vector<sim::sim_time> reference_starts(unsigned cpu, sim::sim_time horizon) {
  const sim::rng stream = sim::rng_family(7, "vcpu-preempt")[cpu];
  const auto gap = [&](std::uint64_t i) {
    return k_interval / 2 + static_cast<sim::sim_time>(stream.below_at(i, k_interval));
  };
  std::vector<sim::sim_time> starts{gap(0)};
  for (std::uint64_t i = 1; starts.back() <= horizon; ++i)
    starts.push_back(starts.back() + k_duration + gap(i));
  return starts;
}

sim::sim_time reference_until(const std::vector<sim::sim_time>& starts, sim::sim_time t) {
  const auto after = std::upper_bound(starts.begin(), starts.end(), t);
  if (after == starts.begin()) return 0;
  const sim::sim_time end = *std::prev(after) + k_duration;
  return t < end ? end : 0;
}

TEST(Vcpu, CursorLandsOnTheWindowsOfTheDefinitionGoingForwardAndBack) {
  vcpu_preemption asked(k_cpus, 7, k_interval, k_duration);
  sim::rng r(3, "vcpu-test", 0);
  constexpr sim::sim_time k_horizon = 200'000'000;
  unsigned held = 0, back = 0, edges = 0;
  for (unsigned cpu = 0; cpu < k_cpus; ++cpu) {
    const std::vector<sim::sim_time> starts = reference_starts(cpu, k_horizon);
    sim::sim_time t = 0;
    for (int q = 0; q < 3000; ++q) {
      // Mostly forward by up to three windows, sometimes back by up to two; every third
      // question on a window's edge (its first or last instant, or the one after either).
      const auto step = static_cast<sim::sim_time>(r.below(3 * (k_interval + k_duration)));
      if (r.below(4) == 0 && t > 0) {
        t = std::max<sim::sim_time>(0, t - step * 2 / 3);
        ++back;
      } else {
        t += step;
      }
      if (r.below(3) == 0) {
        const auto w = std::upper_bound(starts.begin(), starts.end(), t);
        const sim::sim_time start = w == starts.begin() ? *w : *std::prev(w);
        const sim::sim_time edge[] = {start - 1, start, start + k_duration - 1, start + k_duration};
        t = std::max<sim::sim_time>(0, edge[r.below(4)]);
        ++edges;
      }
      ASSERT_LT(t, k_horizon);
      const sim::sim_time want = reference_until(starts, t);
      ASSERT_EQ(asked.preempted_until(cpu, t), want) << "cpu " << cpu << " query " << q;
      held += want > 0;
    }
  }
  EXPECT_GT(held, 2000u);
  EXPECT_GT(back, 2000u);
  EXPECT_GT(edges, 2000u);
}

// The per-CPU streams come from one rng_family (the name hashed once); each must be the
// stream rng(seed, name, cpu) that every earlier output was drawn from.
TEST(Vcpu, StreamFamilyIsTheNamedStreamOfEachIndex) {
  const sim::rng_family family(7, "vcpu-preempt");
  for (std::uint64_t c : {0u, 1u, 63u, 4095u}) {
    sim::rng from_family = family[c];
    sim::rng named(7, "vcpu-preempt", c);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(from_family.next(), named.next()) << "cpu " << c;
  }
  EXPECT_NE(sim::rng_family(7, "vcpu-preempt")[1].next(), sim::rng(7, "vcpu-preempt", 2).next());
}

}  // namespace
}  // namespace sd::kern
