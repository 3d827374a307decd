// Writers for `shootdown host` results: JSON (metric names as in the model where they mean
// the same thing) and a table with median / min / max over the repeats.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>

#include "host/host_run.h"

namespace sd::host {

nlohmann::ordered_json to_json(const host_result& r);
void print_table(std::ostream& out, const host_result& r);

}  // namespace sd::host
