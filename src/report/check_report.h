// check's outputs: the verdict with what it covered, the counterexample step by step with
// a column per CPU, and the same as JSON. No model logic.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "check/explorer.h"

namespace sd::report {

struct check_report {
  const check::check_config& cfg;
  const check::explore_options& opt;
  const check::explore_result* explored = nullptr;  // null for --replay
  const check::replay_result* run = nullptr;        // the counterexample (or the replay)
  std::string replay_command;                       // reproduces `run`
};

void print_check(std::ostream& out, const check_report& r);
nlohmann::ordered_json check_json(const check_report& r);
// The command line that replays `schedule` (an encoded check::choice list) on cfg.
std::string replay_command(const check::check_config& cfg, const std::string& schedule);
// What the bound and the model leave out of a "no violation" verdict.
std::string left_out(const check::check_config& cfg, const check::explore_options& opt);

}  // namespace sd::report
