#include "triage/jobs.h"

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>

#include "check/explorer.h"
#include "report/check_report.h"
#include "workload/config.h"
#include "workload/run.h"

namespace sd::triage {

namespace {

// A set as a spec `check --patches` and `simulate --patches` read back.
std::string spec_of(const patches::patch_set& s) {
  std::string out;
  for (auto name : s.names()) {
    if (!out.empty()) out += '+';
    out += name;
  }
  return out.empty() ? "none" : out;
}

std::vector<std::string> knob_names(std::span<const std::string_view> knobs) {
  return {knobs.begin(), knobs.end()};
}

void run_check(const options& opt, check_job& j) {
  check::check_config cfg;
  cfg.prog = program::load_program(j.program);
  cfg.arch = j.arch;
  cfg.cpus = j.cpus ? j.cpus : cfg.prog.min_cpus();
  cfg.patch_spec = j.spec;
  cfg.patches = j.set;
  for (const auto& k : j.knobs_off) {
    cfg.knobs.set(*patches::find_knob(k), false);
    cfg.knobs_off.push_back(k);
  }
  check::explore_options eo;
  eo.bound = opt.bound;
  eo.max_executions = opt.max_executions;
  if (j.pct_schedules) {
    eo.strat = check::strategy::pct;
    eo.seed = 1;
    eo.max_executions = j.pct_schedules;
  }
  eo.jobs = 1;  // the runs themselves go in parallel; one thread keeps capped counts exact
  const check::explore_result r = check::explore(cfg, eo);
  check_outcome& o = j.out;
  o.program = j.program;
  o.arch = j.arch;
  o.cpus = cfg.cpus;
  o.knobs_off = j.knobs_off;
  o.patch_spec = j.spec;
  o.strategy = j.pct_schedules ? "pct" : "dfs";
  o.violation = r.violation;
  o.executions = r.executions;
  o.exhausted = r.exhausted;
  o.seconds = r.seconds;
  if (r.violation) {
    o.invariant = std::string(check::invariant_name(r.first.inv));
    o.detail = r.first.detail;
    o.replay = report::replay_command(cfg, check::encode_schedule(r.schedule));
  }
}

void run_cost(cost_job& j) {
  workload::scenario_spec spec = workload::load_scenario(j.scenario);
  spec.arch = j.arch;
  spec.arch_origin = "triage --arches";
  spec.cpus = j.cpus;
  spec.cpus_origin = "triage --cpus";
  spec.patches = workload::setting{"patches", j.spec, "triage"};
  for (const auto& k : j.knobs_off) spec.knobs.push_back({k, "off", "triage registry"});
  j.out = report::compare_row{j.spec, workload::simulate(workload::resolve(spec))};
}

}  // namespace

std::size_t planner::check(const program_target& t, const std::string& arch,
                           const std::string& spec, const patches::patch_set& set) {
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", t.program, arch, t.cpus, t.pct_schedules,
                                      fmt::join(t.knobs_off, ","), spec_of(set));
  if (auto it = check_index_.find(key); it != check_index_.end()) return it->second;
  checks.push_back({std::string(t.program),
                    arch,
                    t.cpus,
                    t.pct_schedules,
                    knob_names(t.knobs_off),
                    spec,
                    set,
                    {}});
  return check_index_[key] = checks.size() - 1;
}

std::size_t planner::cost(const scenario_target& t, const std::string& arch,
                          const std::string& spec, const patches::patch_set& set) {
  const std::string key =
      fmt::format("{}|{}|{}|{}", t.scenario, arch, fmt::join(t.knobs_off, ","), spec_of(set));
  if (auto it = cost_index_.find(key); it != cost_index_.end()) return it->second;
  costs.push_back(
      {std::string(t.scenario), arch, opt_.cpus, knob_names(t.knobs_off), spec, set, {}});
  return cost_index_[key] = costs.size() - 1;
}

void run_planned(const options& opt, planner& plan, std::size_t first_check,
                 std::size_t first_cost) {
  // Checks first (the long ones).
  const std::size_t nc = plan.checks.size() - first_check;
  const std::size_t n = nc + plan.costs.size() - first_cost;
  std::atomic<std::size_t> done{0};
  const auto run_one = [&](std::size_t i) {
    if (i < nc)
      run_check(opt, plan.checks[first_check + i]);
    else
      run_cost(plan.costs[first_cost + i - nc]);
    const std::size_t d = ++done;
    if (opt.progress) opt.progress(d, n);
  };
  if (opt.jobs <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) run_one(i);
  } else {
    tbb::task_arena arena(static_cast<int>(std::min<std::size_t>(opt.jobs, n)));
    arena.execute([&] { tbb::parallel_for(std::size_t{0}, n, run_one); });
  }
}

}  // namespace sd::triage
