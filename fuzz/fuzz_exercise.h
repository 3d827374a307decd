// What the fuzzer does with one input, shared with the unit test that replays the
// regression corpus (tests/fuzz_regressions/): any input must end in a result or an
// input_error (exit code 2 in the CLI); a crash, a sanitizer report, another exception or a
// hang is a finding.
#pragma once
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "program/program.h"
#include "workload/config.h"
#include "workload/cost_file.h"

namespace sd::fuzz {

// The text as a scenario file (parsed, then resolved as simulate would), as a program
// file and as a cost file (parsed, then written and read back), and each of its first lines as a
// command line's KEY=VALUE for --set, --cost and
// --knob on a built-in scenario.
inline void exercise(const std::string& text) {
  try {
    const auto spec = sd::workload::parse_scenario_toml(text, "fuzz.toml");
    (void)sd::workload::resolve(spec);
  } catch (const sd::workload::input_error&) {
  }
  try {
    (void)sd::program::parse_program(text, "fuzz.toml");
  } catch (const sd::workload::input_error&) {
  }
  std::optional<sd::workload::cost_file> cost;
  try {
    cost = sd::workload::parse_cost_file(text, "fuzz.toml");
  } catch (const sd::workload::input_error&) {
  }
  // What host --calibrate writes from a file it read must read back (keys and strings
  // escaped): a failure here is a finding.
  if (cost) {
    try {
      (void)sd::workload::parse_cost_file(sd::workload::format_cost_file(*cost), "again.toml");
    } catch (const sd::workload::input_error&) {
      std::abort();
    }
  }
  std::string_view rest = text;
  for (int lines = 0; !rest.empty() && lines < 8; ++lines) {
    const auto nl = rest.find('\n');
    const std::string line(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    using settings = std::vector<sd::workload::setting> sd::workload::scenario_spec::*;
    for (settings list : {&sd::workload::scenario_spec::params, &sd::workload::scenario_spec::costs,
                          &sd::workload::scenario_spec::knobs}) {
      sd::workload::scenario_spec spec = sd::workload::load_scenario("munmap-free-tables");
      (spec.*list).push_back({line.substr(0, eq), line.substr(eq + 1), "--fuzz"});
      try {
        (void)sd::workload::resolve(spec);
      } catch (const sd::workload::input_error&) {
      }
    }
  }
}

}  // namespace sd::fuzz
