// Model speed: simulated steps per second and wall time to simulate munmap-free-tables at
// several machine sizes. Run: build/bench_simulate (see README "Benchmarks").
#include <benchmark/benchmark.h>

#include "workload/config.h"
#include "workload/run.h"

namespace {

void BM_munmap_free_tables(benchmark::State& state, const char* arch) {
  sd::workload::scenario_spec spec = sd::workload::load_scenario("munmap-free-tables");
  spec.arch = arch;
  spec.cpus = static_cast<unsigned>(state.range(0));
  const sd::workload::run_config cfg = sd::workload::resolve(spec);
  std::uint64_t steps = 0;
  std::uint64_t ipis = 0;
  for (auto _ : state) {
    const auto r = sd::workload::simulate(cfg);
    steps += r.model_steps;
    ipis = r.stats.ipis_sent;
    benchmark::DoNotOptimize(r.stats.sim_time_ns);
  }
  state.counters["steps_per_s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
  state.counters["steps_per_run"] =
      static_cast<double>(steps) / static_cast<double>(state.iterations());
  state.counters["ipis_per_run"] = static_cast<double>(ipis);
}

BENCHMARK_CAPTURE(BM_munmap_free_tables, x86, "x86")
    ->Arg(8)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_munmap_free_tables, arm64, "arm64")
    ->Arg(8)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);

}  // namespace
