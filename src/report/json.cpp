#include <string>

#include "workload/units.h"

#include "program/program.h"
#include "report/metric_list.h"
#include "report/report.h"
#include "workload/builtin.h"

namespace sd::report {

namespace {

nlohmann::ordered_json config_json(const workload::run_config& c) {
  nlohmann::ordered_json j;
  j["scenario"] = c.scenario;
  if (c.program) j["program"] = c.program->name;
  j["source"] = c.source;
  j["arch"] = c.arch;
  j["cpus"] = c.cpus;
  j["seed"] = c.seed;
  j["patch_set"] = c.patch_spec;
  nlohmann::ordered_json features = nlohmann::ordered_json::array();
  for (auto name : c.patches.names()) features.push_back(std::string(name));
  j["patches"] = features;
  const auto* b = workload::find_builtin(c.scenario);
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  for (auto decls :
       {b ? b->params : std::span<const workload::param_decl>{}, workload::common_params()})
    for (const auto& d : decls)
      params[std::string(d.name)] = workload::format_param(d, c.params.at(std::string(d.name)));
  j["params"] = params;
  j["cost_preset"] = std::string(cost::preset_name(c.costs.base()));
  if (!c.cost_file.empty()) j["cost_file"] = c.cost_file;
  nlohmann::ordered_json costs = nlohmann::ordered_json::object();
  for (const auto& p : cost::params()) costs[std::string(p.name)] = c.costs[p.id];
  j["costs_ns"] = costs;
  nlohmann::ordered_json knobs = nlohmann::ordered_json::object();
  for (const auto& k : patches::knobs()) knobs[std::string(k.name)] = c.knobs[k.id];
  j["knobs"] = knobs;
  j["version"] = std::string(version());
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const workload::run_result& r) {
  nlohmann::ordered_json j;
  j["config"] = config_json(r.cfg);
  const kern::metrics& m = r.stats;
  nlohmann::ordered_json mj;
  for (const auto& mi : scalar_metrics()) mj[std::string(mi.name)] = mi.get(m);
  mj["ipis_received_per_cpu"] = m.ipis_received_per_cpu;
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m.flushes_by_reason) reasons[k] = v;
  mj["flushes_by_reason"] = reasons;
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (const auto& [name, o] : m.op_latency)
    ops[name] = {{"count", o.count},
                 {"mean_ns", o.count ? o.total_ns / static_cast<sim::sim_time>(o.count) : 0},
                 {"p50_ns", o.percentile(50)},
                 {"p90_ns", o.percentile(90)},
                 {"p99_ns", o.percentile(99)},
                 {"max_ns", o.max_ns},
                 {"flushes", o.flushes}};
  mj["op_latency"] = ops;
  if (!m.noise_per_isolated_cpu.empty()) {
    nlohmann::ordered_json iso = nlohmann::ordered_json::array();
    for (const auto& [cpu, n] : m.noise_per_isolated_cpu)
      iso.push_back({{"cpu", cpu},
                     {"irqs", n.irqs},
                     {"noise_ns", n.total_ns},
                     {"max_single_ns", n.max_ns},
                     {"flush_calls", n.flush_calls},
                     {"sync_calls", n.sync_calls},
                     {"other_calls", n.other_calls}});
    mj["isolated_cpus"] = iso;
  }
  mj["last_event_ns"] = r.last_event_ns;
  mj["model_steps"] = r.model_steps;
  j["metrics"] = mj;
  nlohmann::ordered_json vs = nlohmann::ordered_json::array();
  for (const auto& v : r.violations) {
    nlohmann::ordered_json vj;
    vj["invariant"] = std::string(check::invariant_name(v.inv));
    vj["cpus"] = v.cpus;
    vj["object"] = v.object;
    vj["step"] = v.step;
    vj["detail"] = v.detail;
    vj["at_ns"] = v.at;
    vs.push_back(vj);
  }
  j["violations"] = vs;
  j["violations_total"] = r.violations_total;
  return j;
}

}  // namespace sd::report
