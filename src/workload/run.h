// Runs one resolved configuration in timed mode and returns what it measured.
#pragma once
#include <chrono>
#include <functional>
#include <vector>

#include "check/monitor.h"
#include "kernel/metrics.h"
#include "kernel/trace.h"
#include "workload/config.h"

namespace sd::workload {

struct run_result {
  run_config cfg;
  kern::metrics stats;
  std::vector<check::violation> violations;
  std::uint64_t violations_total = 0;
  std::uint64_t model_steps = 0;
  sim::sim_time last_event_ns = 0;  // the last step of any actor (RCU callbacks included)
  std::vector<sim::sim_time> program_ended_ns;  // programs: per CPU, when its ops were done
  bool ok() const { return violations_total == 0; }
};

// With `trace`, the run's events are recorded there (simulate --trace). `progress` is called
// every 65,536 steps with the steps so far and the simulated time. With `stepping`, the wall
// time of the steps alone goes there: without building the machine and the workload, and
// without tearing them down (bench_scale's cost per step, issue 12).
run_result simulate(const run_config& cfg, kern::trace_recorder* trace = nullptr,
                    std::function<void(std::uint64_t, sim::sim_time)> progress = {},
                    std::chrono::steady_clock::duration* stepping = nullptr);

}  // namespace sd::workload
