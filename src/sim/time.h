// Simulated time: integer nanoseconds, so runs are exact and reproducible.
#pragma once
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace sd::sim {

using sim_time = std::int64_t;  // nanoseconds since the start of the run
inline constexpr sim_time never = std::numeric_limits<sim_time>::max();

// t + d for the engine's clocks. Accepted inputs keep runs far below 2^63 ns (292 years);
// should one not, the run stops with an error instead of wrapping into negative time.
inline sim_time later(sim_time t, sim_time d) {
  sim_time r = 0;
  if (__builtin_add_overflow(t, d, &r) || r == never)
    throw std::overflow_error("simulated time overflowed (a cost or time far too large)");
  return r;
}

}  // namespace sd::sim
