// Cost per model step as the machine grows: every built-in scenario on every arch at 8 and
// at 4096 CPUs (issue 12: a step at 4096 CPUs should cost at most 1.5x a step at 8).
//
// BM_scale runs the default parameters, several of which scale with the machine (threads =
// CPUs/2 and the like), so its two sizes also do different work: the 4096-CPU runs of the
// flush-heavy scenarios are mostly TLB refills after flushes that reached thousands of
// CPUs. BM_scale_fixed_params runs both sizes with the parameters the scenario has at 8
// CPUs, so the threads and their operations are the same; what still grows is the work the
// kernel itself does per CPU (a sync IPI is broadcast to every CPU: hugetlb-fork-exit,
// khugepaged-collapse, rt-isolated; steps_per_run shows it) and the simulator's cost of a
// larger machine (setup, per-CPU state, a deeper event queue). ns_per_step divides the
// whole run by its steps, setup and teardown included; run_ns_per_step only the steps'
// wall time (the engine's loop).
// Run: build/bench_scale [--benchmark_filter=REGEX] (see README "Benchmarks").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "arch/arch.h"
#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/run.h"

namespace {

constexpr unsigned k_small = 8;

sd::workload::run_config config(const std::string& scenario, const std::string& arch, unsigned cpus,
                                bool fixed_params) {
  sd::workload::scenario_spec spec = sd::workload::load_scenario(scenario);
  spec.arch = arch;
  spec.cpus = cpus;
  sd::workload::run_config cfg = sd::workload::resolve(spec);
  if (fixed_params) {
    spec.cpus = k_small;
    cfg.params = sd::workload::resolve(spec).params;
    // The same check resolve() makes of parameters given with --set.
    if (auto problem = sd::workload::find_builtin(scenario)->validate(cfg.cpus, cfg.params))
      throw std::invalid_argument(scenario + ": the 8-CPU parameters do not fit " +
                                  std::to_string(cpus) + " CPUs: " + problem.message);
  }
  return cfg;
}

void BM_scale(benchmark::State& state, std::string scenario, std::string arch, bool fixed_params) {
  const sd::workload::run_config cfg =
      config(scenario, arch, static_cast<unsigned>(state.range(0)), fixed_params);
  std::uint64_t steps = 0;
  std::chrono::steady_clock::duration stepping_total{};
  for (auto _ : state) {
    std::chrono::steady_clock::duration stepping{};
    const auto r = sd::workload::simulate(cfg, nullptr, {}, &stepping);
    steps += r.model_steps;
    stepping_total += stepping;
    benchmark::DoNotOptimize(r.stats.sim_time_ns);
  }
  state.counters["steps_per_run"] =
      static_cast<double>(steps) / static_cast<double>(state.iterations());
  // The whole run: building the machine and the workload, the steps, the teardown.
  state.counters["ns_per_step"] = benchmark::Counter(
      static_cast<double>(steps), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // The steps alone (wall time of the engine's loop): what a step costs, without the fixed
  // cost of setting up and tearing down a machine of this size, a quarter to a third of the
  // shortest runs at 4096 CPUs (docs/performance.md).
  state.counters["run_ns_per_step"] = benchmark::Counter(
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(stepping_total).count()) /
      static_cast<double>(std::max<std::uint64_t>(steps, 1)));
}

const bool registered = [] {
  for (const bool fixed_params : {false, true})
    for (const auto& s : sd::workload::builtins())
      for (const auto& a : sd::arch::arches())
        benchmark::RegisterBenchmark(
            (std::string(fixed_params ? "BM_scale_fixed_params/" : "BM_scale/") +
             std::string(s.name) + "/" + std::string(a.name))
                .c_str(),
            BM_scale, std::string(s.name), std::string(a.name), fixed_params)
            ->Arg(k_small)
            ->Arg(4096)
            ->Unit(benchmark::kMillisecond)
            ->MeasureProcessCPUTime()
            ->UseRealTime();
  return true;
}();

}  // namespace
