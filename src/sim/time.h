// Simulated time: integer nanoseconds, so runs are exact and reproducible.
#pragma once
#include <cstdint>
#include <limits>

namespace sd::sim {

using sim_time = std::int64_t;  // nanoseconds since the start of the run
inline constexpr sim_time never = std::numeric_limits<sim_time>::max();

}  // namespace sd::sim
