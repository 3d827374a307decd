#include <string>

#include "workload/units.h"

#include "report/report.h"
#include "workload/builtin.h"

namespace sd::report {

std::string_view version() {
  return SHOOTDOWN_VERSION;
}

namespace {

nlohmann::ordered_json config_json(const workload::run_config& c) {
  nlohmann::ordered_json j;
  j["scenario"] = c.scenario;
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
  for (const auto& d : b->params)
    params[std::string(d.name)] = workload::format_param(d, c.params.at(std::string(d.name)));
  j["params"] = params;
  j["cost_preset"] = std::string(cost::preset_name(c.costs.base()));
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
  mj["ipis_sent"] = m.ipis_sent;
  mj["ipis_received_per_cpu"] = m.ipis_received_per_cpu;
  mj["cpus_interrupted"] = m.cpus_interrupted();
  mj["flush_ipis"] = m.flush_ipis;
  mj["sync_ipis"] = m.sync_ipis;
  mj["sync_broadcasts"] = m.sync_broadcasts;
  mj["tlbi_broadcasts"] = m.tlbi_broadcasts;
  mj["dsb_waits"] = m.dsb_waits;
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m.flushes_by_reason) reasons[k] = v;
  mj["flushes_by_reason"] = reasons;
  mj["rcu_grace_periods"] = m.rcu_grace_periods;
  mj["sim_time_ns"] = m.sim_time_ns;
  mj["ops_completed"] = m.ops_completed;
  mj["page_faults"] = m.page_faults;
  mj["pages_freed"] = m.pages_freed;
  mj["tables_freed"] = m.tables_freed;
  mj["gup_fast_pages"] = m.gup_fast_pages;
  mj["gup_fast_short"] = m.gup_fast_short;
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
