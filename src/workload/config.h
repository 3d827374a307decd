// What a run is: scenario, machine, seed, parameters, cost overrides and knobs. Built from
// a built-in name or a TOML file, then command-line overrides; `resolve` validates it all
// once and freezes it. Errors are input_error (exit code 2) naming file, line and key.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cost/cost_model.h"
#include "patches/knobs.h"
#include "patches/patches.h"
#include "workload/params.h"

namespace sd::program {
struct program;
}

namespace sd::workload {

struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One value as written, with where it was written ("file.toml:12 [params] threads").
struct setting {
  std::string key;
  std::string text;
  std::string origin;
};

struct scenario_spec {
  std::string scenario;                // built-in workload name
  std::optional<std::string> program;  // or a check program (name or file) run timed
  // or one already parsed (host --predict's twins of its phases)
  std::shared_ptr<const program::program> parsed_program;
  std::string source = "built-in";
  std::optional<std::string> arch;
  std::optional<unsigned> cpus;
  // Where arch and cpus were set ("file.toml:4: [machine] cpus", "--cpus"), for errors.
  std::string arch_origin, cpus_origin;
  std::optional<std::uint64_t> seed;
  std::optional<setting> patches;  // patch-set spec, e.g. "v7.0+x86-wake-lazy-on-unshare"
  std::vector<setting> params;
  std::vector<setting> costs;
  std::string cost_file;  // --cost-file, whose values are among `costs` ("" if none)
  std::vector<setting> knobs;
};

struct run_config {
  std::string scenario;  // the built-in workload, or "" when a program runs
  std::shared_ptr<const program::program> program;
  std::string source;
  std::string arch;
  unsigned cpus = 0;
  std::uint64_t seed = 0;
  std::string patch_spec;  // as given (or the default preset)
  patches::patch_set patches;
  param_values params;
  cost::cost_model costs{cost::preset::x86_server};
  std::map<std::string, sim::sim_time> cost_overrides;  // by name, as given
  std::string cost_file;                                // where some of them came from
  patches::knob_set knobs;
  std::map<std::string, bool> knob_overrides;
};

inline constexpr unsigned k_default_cpus = 8;

// `name_or_file`: a built-in scenario name, or a path to a TOML scenario file.
scenario_spec load_scenario(const std::string& name_or_file);
scenario_spec parse_scenario_toml(const std::string& text, const std::string& path);
run_config resolve(const scenario_spec& spec);
// A cost setting checked: a known parameter (shootdown list costs) and a time within what a
// real machine takes; else an input_error naming where it was set.
std::pair<cost::param, sim::sim_time> cost_value(const setting& s);
// What runs, for reports: the scenario's name or "program NAME".
std::string workload_name(const run_config& cfg);

}  // namespace sd::workload
