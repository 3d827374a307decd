// `shootdown triage`: for every feature between two patch sets, on every arch, whether it
// is needed for safety (check, with it and without it) and what it costs (a seed scenario
// simulated with it and without it). "Without it" is the --to set minus the feature and
// minus every feature of the set that needs it (triage/registry.h).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "patches/patches.h"

namespace sd::triage {

struct options {
  std::string from, to;  // patch-set specs
  std::vector<std::string> arches = {"x86", "x86-kvm", "x86-invlpgb", "arm64"};
  unsigned cpus = 8;                         // of the cost runs
  unsigned bound = 2;                        // of the check runs (dfs)
  std::uint64_t max_executions = 1'000'000;  // per check run
  unsigned jobs = 1;                         // runs at once (each run is single-threaded)
  // Called as runs finish: (runs done, runs in all).
  std::function<void(std::size_t, std::size_t)> progress;
};

// One check run's outcome.
struct check_outcome {
  std::string program;
  std::string arch;
  unsigned cpus = 0;
  std::vector<std::string> knobs_off;
  std::string patch_spec;
  std::string strategy = "dfs";  // or "pct" (sampled: never exhausted)
  bool violation = false;
  std::string invariant;  // when violation
  std::string detail;     // the violation's one-line explanation
  std::string replay;     // the command that reproduces the counterexample
  std::uint64_t executions = 0;
  bool exhausted = false;  // every schedule within the bound was explored
  double seconds = 0;
  bool operator==(const check_outcome&) const;  // same verdict and counts (not the time)
};

// One program's pair of runs.
struct program_evidence {
  check_outcome with, without;
};

// A variant (forced on, as posted) added to the --to set.
struct variant_evidence {
  patches::feature variant;
  std::vector<check_outcome> runs;  // one per program
};

// A metric that differs between the scenario run with the feature and without it.
struct metric_change {
  std::string metric;
  double without = 0, with = 0;
};

struct cost_evidence {
  std::string scenario;
  std::vector<std::string> knobs_off;
  unsigned cpus = 0;
  std::string with_spec, without_spec;
  std::vector<metric_change> changed;
  bool violation_with = false, violation_without = false;
};

enum class safety : std::uint8_t {
  required,           // a violation without it, none with it
  not_required,       // no violation either way within the bound
  makes_unsafe,       // a violation only with it
  unsafe_either_way,  // violations with and without it (not this feature's)
  no_effect,          // nothing it changes runs on this arch
  not_checked,        // no program exercises it (the model does not run its path)
};
std::string_view to_string(safety s);

struct row {
  patches::feature feature;
  std::string arch;
  std::vector<patches::feature> removed_with;  // features that need it, removed with it
  safety verdict = safety::not_checked;
  std::string why_no_effect;  // for no_effect / not_checked
  std::vector<program_evidence> programs;
  std::vector<variant_evidence> variants;
  std::optional<cost_evidence> cost;
  std::string reading;  // one line for people
};

// A feature outside the --to set tried on a program the --to set violates (with the
// features it needs): whether the violation goes away.
struct fix_attempt {
  patches::feature feature;
  check_outcome run;
};

// A violation of the --to set itself, and what triage tried against it.
struct unsafe_to {
  check_outcome run;
  std::vector<fix_attempt> tried;
};

struct result {
  options opt;
  std::vector<patches::feature> diff;     // in --to, not in --from
  std::vector<patches::feature> dropped;  // in --from, not in --to (not triaged)
  std::vector<row> rows;                  // per feature, per arch
  std::vector<unsafe_to> to_violations;   // the --to set's own violations
  std::size_t check_runs = 0, cost_runs = 0;
  double seconds = 0;
};

// Throws workload::input_error for an unknown patch set or arch.
result run(const options& opt);

}  // namespace sd::triage
