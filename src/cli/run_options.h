// The options simulate and compare share: which workload on which machine, with which
// parameter, cost and knob overrides.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "workload/config.h"

namespace sd::cli {

struct run_options {
  std::string scenario = "munmap-free-tables";
  std::optional<std::string> program;
  std::optional<std::string> arch;
  std::optional<unsigned> cpus;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> sets, costs, knobs;
  std::string cost_file;  // --cost-file: applied before --cost, after a scenario's [cost]
};

void add_run_options(CLI::App* sub, run_options& o);
// The scenario with the command-line overrides applied (not yet resolved).
workload::scenario_spec build_spec(const run_options& o);
// "KEY=VALUE" as given to `flag`, or an input error naming the flag.
workload::setting split(const std::string& kv, const char* flag);

}  // namespace sd::cli
