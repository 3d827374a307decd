// Cost per model step as the machine grows: every built-in scenario on every arch at 8 and
// at 4096 CPUs, default parameters (issue 12: a step at 4096 CPUs should cost at most 1.5x a
// step at 8).
// Run: build/bench_scale [--benchmark_filter=REGEX] (see README "Benchmarks").
#include <benchmark/benchmark.h>

#include <string>

#include "arch/arch.h"
#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/run.h"

namespace {

void BM_scale(benchmark::State& state, std::string scenario, std::string arch) {
  sd::workload::scenario_spec spec = sd::workload::load_scenario(scenario);
  spec.arch = arch;
  spec.cpus = static_cast<unsigned>(state.range(0));
  const sd::workload::run_config cfg = sd::workload::resolve(spec);
  std::uint64_t steps = 0;
  for (auto _ : state) {
    const auto r = sd::workload::simulate(cfg);
    steps += r.model_steps;
    benchmark::DoNotOptimize(r.stats.sim_time_ns);
  }
  state.counters["steps_per_run"] =
      static_cast<double>(steps) / static_cast<double>(state.iterations());
  state.counters["ns_per_step"] = benchmark::Counter(
      static_cast<double>(steps), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

const bool registered = [] {
  for (const auto& s : sd::workload::builtins())
    for (const auto& a : sd::arch::arches())
      benchmark::RegisterBenchmark(
          (std::string("BM_scale/") + std::string(s.name) + "/" + std::string(a.name)).c_str(),
          BM_scale, std::string(s.name), std::string(a.name))
          ->Arg(8)
          ->Arg(4096)
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime()
          ->UseRealTime();
  return true;
}();

}  // namespace
