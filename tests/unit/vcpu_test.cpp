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
