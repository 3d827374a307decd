// Simulated time: integer nanoseconds, so runs are exact and reproducible.
#pragma once
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace sd::sim {

using sim_time = std::int64_t;  // nanoseconds since the start of the run
inline constexpr sim_time never = std::numeric_limits<sim_time>::max();

// t + d for the engine's clocks. Accepted inputs keep runs far below 2^63 ns (292 years);
// should one not, the run stops with an error instead of wrapping into negative time. The
// timed scheduler's bound is lower, 2^51 ns (sim/scheduler.h), with the same kind of error.
inline sim_time later(sim_time t, sim_time d) {
  sim_time r = 0;
  if (__builtin_add_overflow(t, d, &r) || r == never)
    throw std::overflow_error("simulated time overflowed (a cost or time far too large)");
  return r;
}

// What an engine stall function (engine::set_stall) answers for an actor at time t: it is
// held until `until` when that is later than t, and otherwise runs at t. [runs_from,
// runs_to) is a span around t in which it is certainly not held (empty when not known), so
// the engine asks again only outside it.
struct stall_answer {
  sim_time until = 0;
  sim_time runs_from = 0;
  sim_time runs_to = 0;
};

}  // namespace sd::sim
