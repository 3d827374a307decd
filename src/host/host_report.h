// Writers for `shootdown host` results: JSON (metric names as in the model where they mean
// the same thing) and a table with median / min / max over the repeats.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "host/host_run.h"

namespace sd::host {

// Median, min and max of per-repeat values (all 0 when there are none).
struct spread {
  double median = 0, min = 0, max = 0;
};
spread spread_of(std::vector<double> v);
// How many of `events` (counted in the phase's idle background window) fall on one
// operation at the phase's median speed: what other activity adds per op (0 if unmeasured).
double background_per_op(const phase_result& p, std::uint64_t events);

nlohmann::ordered_json to_json(const host_result& r);
void print_table(std::ostream& out, const host_result& r);

}  // namespace sd::host
