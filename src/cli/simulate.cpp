#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "report/report.h"
#include "workload/config.h"
#include "workload/run.h"

namespace sd::cli {

namespace {

struct simulate_opts {
  std::string scenario = "munmap-free-tables";
  std::optional<std::string> arch;
  std::optional<unsigned> cpus;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> patches;
  std::vector<std::string> sets, costs, knobs;
  std::string json;
  bool quiet = false;
};

// "key=value" -> setting, or an input error naming the flag.
workload::setting split(const std::string& kv, const char* flag) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw workload::input_error(std::string(flag) + " expects KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1), std::string(flag) + " " + kv.substr(0, eq)};
}

}  // namespace

command_fn add_simulate(CLI::App& app) {
  auto o = std::make_shared<simulate_opts>();
  CLI::App* sub = app.add_subcommand(
      "simulate", "run a workload on a modeled machine and report IPIs, flushes and violations");
  sub->add_option("--scenario", o->scenario, "built-in scenario name or TOML file")
      ->capture_default_str();
  sub->add_option("--arch", o->arch, "x86 or arm64 (default x86)");
  sub->add_option("--cpus", o->cpus, "CPUs of the machine, 1-4096 (default 8)")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--seed", o->seed, "master seed (default 1)");
  sub->add_option("--patches", o->patches,
                  "patch set: a preset (v6.17, v6.17-backport, v6.18, v7.0, v7.0-sync-skip, none), "
                  "features joined with '+', or a preset '+' features (default v7.0; see "
                  "'shootdown list patches')");
  sub->add_option("--set", o->sets, "scenario parameter KEY=VALUE (repeatable)");
  sub->add_option("--cost", o->costs, "cost parameter KEY=TIME, e.g. ipi_send=250ns");
  sub->add_option("--knob", o->knobs, "knob NAME=on|off (see 'shootdown list knobs')");
  sub->add_option("--json", o->json, "write the JSON result to FILE, or - for stdout");
  sub->add_flag("--quiet", o->quiet, "no human table");
  return [o]() -> int {
    workload::scenario_spec spec = workload::load_scenario(o->scenario);
    if (o->arch) spec.arch = *o->arch;
    if (o->cpus) spec.cpus = *o->cpus;
    if (o->seed) spec.seed = *o->seed;
    if (o->patches) spec.patches = workload::setting{"patches", *o->patches, "--patches"};
    for (const auto& s : o->sets) spec.params.push_back(split(s, "--set"));
    for (const auto& s : o->costs) spec.costs.push_back(split(s, "--cost"));
    for (const auto& s : o->knobs) spec.knobs.push_back(split(s, "--knob"));
    const workload::run_config cfg = workload::resolve(spec);
    const workload::run_result r = workload::simulate(cfg);
    if (!o->json.empty()) {
      const std::string doc = report::to_json(r).dump(2) + "\n";
      if (o->json == "-") {
        std::cout << doc;
      } else {
        std::ofstream f(o->json);
        if (!f) throw workload::input_error("--json: cannot write '" + o->json + "'");
        f << doc;
      }
    }
    if (!o->quiet && o->json != "-") report::print_table(std::cout, r);
    return r.ok() ? 0 : 1;
  };
}

}  // namespace sd::cli
