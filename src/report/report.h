// Writers for run results. No model logic here: they only format what a run measured.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>

#include "workload/run.h"

namespace sd::report {

std::string_view version();
// The JSON document of `shootdown simulate --json` (documented in docs/formats.md).
nlohmann::ordered_json to_json(const workload::run_result& r);
// The human table (perf-stat style).
void print_table(std::ostream& out, const workload::run_result& r);

}  // namespace sd::report
