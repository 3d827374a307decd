#include "cli/run_options.h"

#include "cli/flags.h"
#include "kernel/kernel.h"
#include "workload/cost_file.h"

namespace sd::cli {

workload::setting split(const std::string& kv, const char* flag) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw workload::input_error(std::string(flag) + " expects KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1), std::string(flag) + " " + kv.substr(0, eq)};
}

void add_run_options(CLI::App* sub, run_options& o) {
  CLI::Option* scenario =
      sub->add_option("--scenario", o.scenario, "built-in scenario name or TOML file")
          ->capture_default_str()
          ->type_name("NAME|FILE");
  sub->add_option("--program", o.program,
                  "run a check program (shootdown list programs, or a file) timed, instead of a "
                  "scenario")
      ->type_name("NAME|FILE")
      ->excludes(scenario);
  sub->add_option("--arch", o.arch, "x86, x86-kvm, x86-invlpgb or arm64 (default x86)")
      ->type_name("ARCH");
  sub->add_option("--cpus", o.cpus, "CPUs of the machine, 1-4096 (default 8)")
      ->type_name("N")
      ->check(whole_number(1, kern::MAX_CPUS));
  sub->add_option("--seed", o.seed, "master seed, 0 to 2^64-1 (default 1)")
      ->type_name("N")
      ->check(whole_number(0, UINT64_MAX));
  sub->add_option("--set", o.sets, "scenario parameter KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE");
  sub->add_option("--cost", o.costs, "cost parameter KEY=TIME, e.g. ipi_send=250ns")
      ->type_name("KEY=TIME");
  sub->add_option("--cost-file", o.cost_file,
                  "cost parameters from a TOML file ([cost] param = \"TIME\"; [machine] "
                  "vcpu_preempt_interval and the other machine parameters), e.g. written by "
                  "'shootdown host --calibrate'; --cost and --set override it")
      ->type_name("FILE");
  sub->add_option("--knob", o.knobs, "knob NAME=on|off (see 'shootdown list knobs')")
      ->type_name("NAME=on|off");
}

workload::scenario_spec build_spec(const run_options& o) {
  workload::scenario_spec spec;
  if (o.program)
    spec.program = *o.program;
  else
    spec = workload::load_scenario(o.scenario);
  if (o.arch) {
    spec.arch = *o.arch;
    spec.arch_origin = "--arch";
  }
  if (o.cpus) {
    spec.cpus = *o.cpus;
    spec.cpus_origin = "--cpus";
  }
  if (o.seed) spec.seed = *o.seed;
  if (!o.cost_file.empty()) {
    const workload::cost_file f = workload::load_cost_file(o.cost_file);
    spec.costs.insert(spec.costs.end(), f.costs.begin(), f.costs.end());
    // The machine's parameters: over a scenario file's [params], under --set.
    spec.params.insert(spec.params.end(), f.machine.begin(), f.machine.end());
    spec.cost_file = o.cost_file;
  }
  for (const auto& s : o.sets) spec.params.push_back(split(s, "--set"));
  for (const auto& s : o.costs) spec.costs.push_back(split(s, "--cost"));
  for (const auto& s : o.knobs) spec.knobs.push_back(split(s, "--knob"));
  return spec;
}

}  // namespace sd::cli
