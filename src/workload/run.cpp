#include "workload/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "kernel/kernel.h"
#include "program/runtime.h"
#include "workload/builtin.h"

namespace sd::workload {

namespace {
// A generous bound: it only turns a livelock in the model into an error instead of a hang.
constexpr std::uint64_t k_max_steps = 4'000'000'000ULL;
}  // namespace

run_result simulate(const run_config& cfg, kern::trace_recorder* trace,
                    std::function<void(std::uint64_t, sim::sim_time)> progress,
                    std::chrono::steady_clock::duration* stepping) {
  kern::machine_config mc;
  mc.arch = cfg.arch;
  mc.cpus = cfg.cpus;
  mc.seed = cfg.seed;
  mc.costs = cfg.costs;
  mc.knobs = cfg.knobs;
  mc.patches = cfg.patches;
  mc.vcpu_preempt_interval = cfg.params.at("vcpu_preempt_interval");
  mc.vcpu_preempt_time = cfg.params.at("vcpu_preempt_time");
  mc.idle_poll = cfg.params.at("idle_poll") != 0;
  mc.idle_tlb_flushed = cfg.params.at("idle_tlb_flushed") != 0;
  sim::timed_scheduler sched;
  kern::kernel k(mc, sched);
  k.trace = trace;
  thread_group threads(k);
  program::runtime rt;
  if (cfg.program)
    program::spawn_program(k, *cfg.program, threads, rt);
  else
    find_builtin(cfg.scenario)->build(k, cfg.params, threads);
  k.eng.set_progress(std::move(progress));
  const auto started = std::chrono::steady_clock::now();
  k.eng.run(k_max_steps);
  if (stepping) *stepping = std::chrono::steady_clock::now() - started;

  for (sim::actor_id a : k.eng.stuck_actors()) {
    if (a >= k.ncpus()) continue;  // the RCU kthread waits for callbacks only while threads live
    k.mon.report({check::invariant::deadlock,
                  {a},
                  fmt::format("CPU {}", a),
                  "end of run",
                  "its thread was still blocked when nothing else could run",
                  k.eng.clock(a)});
  }
  // Every nohz_full CPU has a row of the noise table, the undisturbed ones too.
  for (unsigned c = 0; c < k.ncpus(); ++c)
    if (k.cpus[c].nohz_full) k.stats.noise_per_isolated_cpu.try_emplace(c);
  run_result r;
  r.cfg = cfg;
  r.stats = k.stats;
  r.violations = k.mon.violations();
  r.violations_total = k.mon.total();
  r.model_steps = k.eng.steps();
  r.program_ended_ns = rt.ended_at;
  for (sim::actor_id a = 0; a < k.eng.actors(); ++a)
    r.last_event_ns = std::max(r.last_event_ns, k.eng.clock(a));
  return r;
}

}  // namespace sd::workload
