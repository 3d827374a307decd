#include "cli/run_options.h"

namespace sd::cli {

namespace {

// "key=value" -> setting, or an input error naming the flag.
workload::setting split(const std::string& kv, const char* flag) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw workload::input_error(std::string(flag) + " expects KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1), std::string(flag) + " " + kv.substr(0, eq)};
}

}  // namespace

void add_run_options(CLI::App* sub, run_options& o) {
  CLI::Option* scenario =
      sub->add_option("--scenario", o.scenario, "built-in scenario name or TOML file")
          ->capture_default_str();
  sub->add_option("--program", o.program,
                  "run a check program (shootdown list programs, or a file) timed, instead of a "
                  "scenario")
      ->excludes(scenario);
  sub->add_option("--arch", o.arch, "x86, x86-kvm, x86-invlpgb or arm64 (default x86)");
  sub->add_option("--cpus", o.cpus, "CPUs of the machine, 1-4096 (default 8)")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--seed", o.seed, "master seed (default 1)");
  sub->add_option("--set", o.sets, "scenario parameter KEY=VALUE (repeatable)");
  sub->add_option("--cost", o.costs, "cost parameter KEY=TIME, e.g. ipi_send=250ns");
  sub->add_option("--knob", o.knobs, "knob NAME=on|off (see 'shootdown list knobs')");
}

workload::scenario_spec build_spec(const run_options& o) {
  workload::scenario_spec spec;
  if (o.program)
    spec.program = *o.program;
  else
    spec = workload::load_scenario(o.scenario);
  if (o.arch) spec.arch = *o.arch;
  if (o.cpus) spec.cpus = *o.cpus;
  if (o.seed) spec.seed = *o.seed;
  for (const auto& s : o.sets) spec.params.push_back(split(s, "--set"));
  for (const auto& s : o.costs) spec.costs.push_back(split(s, "--cost"));
  for (const auto& s : o.knobs) spec.knobs.push_back(split(s, "--knob"));
  return spec;
}

}  // namespace sd::cli
