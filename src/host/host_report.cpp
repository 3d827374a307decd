#include "host/host_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <csignal>

#include <algorithm>
#include <numeric>

#include "host/host_params.h"
#include "report/text_table.h"

namespace sd::host {

namespace {

std::uint64_t sum(const std::vector<std::uint64_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

nlohmann::ordered_json spread_json(const spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

template <typename F>
spread over(const phase_result& p, F f) {
  std::vector<double> v;
  for (const auto& s : p.repeats) v.push_back(f(s));
  return spread_of(v);
}

}  // namespace

spread spread_of(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {med, v.front(), v.back()};
}

double background_per_op(const phase_result& p, std::uint64_t events) {
  if (p.background.seconds <= 0) return 0;
  const double op_s = over(p, [](const phase_sample& s) { return s.ns_per_op; }).median * 1e-9;
  return static_cast<double>(events) / p.background.seconds * op_s;
}

namespace {

// The scenario's sizes as simulate's JSON writes its parameters (format_param).
nlohmann::ordered_json params_json(const host_result& r) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& d : host_params(r.scenario))
    j[std::string(d.name)] = workload::format_param(d, host_param(r.scenario, r.params, d.name));
  return j;
}

// "key=value, ..." of the scenario's sizes, or "" when it has none.
std::string params_text(const host_result& r) {
  std::string t;
  const nlohmann::ordered_json sizes = params_json(r);
  for (const auto& [k, v] : sizes.items())
    t += (t.empty() ? "" : ", ") + k + "=" + v.get<std::string>();
  return t;
}

}  // namespace

nlohmann::ordered_json to_json(const host_result& r) {
  nlohmann::ordered_json j;
  j["config"] = {{"scenario", r.scenario}, {"cpus", r.cpus},           {"iterations", r.iterations},
                 {"repeat", r.repeat},     {"params", params_json(r)}, {"mode", "host"}};
  j["available"] = {{"ipis", r.have_interrupts},
                    {"tlb_flush_tracepoint", r.have_tracepoint},
                    {"csd_queue_tracepoint", r.have_csd_tracepoint},
                    {"page_fault_tracepoint", r.have_fault_tracepoint},
                    {"sched_switch_tracepoint", r.have_switch_tracepoint}};
  j["notes"] = r.notes;
  if (r.interrupted_by) j["interrupted_by"] = r.interrupted_by == SIGTERM ? "SIGTERM" : "SIGINT";
  nlohmann::ordered_json phases = nlohmann::ordered_json::array();
  for (const auto& p : r.phases) {
    nlohmann::ordered_json pj;
    pj["name"] = p.name;
    pj["what"] = p.what;
    if (!p.skipped.empty() || p.repeats.empty()) {  // nothing measured: no zeros either
      if (p.skipped.empty())
        pj["not_run"] = true;
      else
        pj["skipped"] = p.skipped;
      phases.push_back(pj);
      continue;
    }
    if (p.background.seconds > 0)
      pj["background"] = {{"seconds", p.background.seconds},
                          {"tlb_ipis", p.background.tlb_ipis},
                          {"call_function_ipis", p.background.cal_ipis},
                          {"csd_queued_machine", p.background.csd_queued_all}};
    pj["wall_ns_per_op"] = spread_json(over(p, [](const phase_sample& s) { return s.ns_per_op; }));
    pj["ipis_received_total"] = spread_json(over(
        p, [](const phase_sample& s) { return static_cast<double>(sum(s.tlb_ipis_per_cpu)); }));
    nlohmann::ordered_json reps = nlohmann::ordered_json::array();
    for (const auto& s : p.repeats) {
      nlohmann::ordered_json sj;
      sj["ops"] = s.ops;
      sj["wall_ns_per_op"] = s.ns_per_op;
      if (s.peers) {
        sj["peers"] = s.peers;
        sj["peer_ops"] = s.peer_ops;
      }
      sj["ipis_received_per_cpu"] = s.tlb_ipis_per_cpu;
      sj["call_function_ipis_per_cpu"] = s.cal_ipis_per_cpu;
      nlohmann::ordered_json fr = nlohmann::ordered_json::object();
      for (const auto& [k, v] : s.flushes_by_reason) fr[k] = v;
      sj["flushes_by_reason"] = fr;
      if (r.have_csd_tracepoint && p.csd_queued_missing.empty()) {
        nlohmann::ordered_json cq = nlohmann::ordered_json::object();
        for (const auto& [k, v] : s.csd_queued) cq[k] = v;
        sj["csd_queued"] = cq;
      }
      if (r.have_csd_tracepoint) {
        nlohmann::ordered_json all = nlohmann::ordered_json::object();
        for (const auto& [k, v] : s.csd_queued_all) all[k] = v;
        sj["csd_queued_machine"] = all;
      }
      const auto task_event = [&](const char* key) {
        const auto it = s.task_events.find(key);
        return it == s.task_events.end() ? 0 : it->second;
      };
      if (r.have_fault_tracepoint) sj["write_protect_faults"] = task_event("write_protect");
      if (r.have_switch_tracepoint) sj["switches_out"] = task_event("switch_out");
      if (s.has_fork_part) {
        // The parent's fork() alone (included in the counts above).
        nlohmann::ordered_json fork;
        fork["flushes_by_reason"] = s.fork_flushes_by_reason;
        if (r.have_csd_tracepoint) fork["csd_queued"] = s.fork_csd_queued;
        sj["fork"] = fork;
      }
      if (!s.child_order.empty()) {
        // One string per round, e.g. "f0 f1 s1@1 s0@0 x1@1 x0@0": f fork (on CPU 0), s first
        // touch, x exit, @ the CPU.
        nlohmann::ordered_json rounds = nlohmann::ordered_json::array();
        for (const auto& round : s.child_order) {
          std::string text;
          for (const auto& e : round) {  // fmt, not "@" + std::string (GCC 12's -Wrestrict)
            if (!text.empty()) text += ' ';
            text += fmt::format("{}{}", e.what, e.child);
            if (e.what != 'f') text += fmt::format("@{}", e.cpu);
          }
          rounds.push_back(text);
        }
        sj["child_order"] = rounds;
      }
      reps.push_back(sj);
    }
    if (!p.csd_queued_missing.empty()) pj["csd_queued_missing"] = p.csd_queued_missing;
    pj["repeats"] = reps;
    phases.push_back(pj);
  }
  j["phases"] = phases;
  return j;
}

void print_table(std::ostream& out, const host_result& r) {
  fmt::print(out,
             "\n Host measurements for '{}' on this machine ({} CPUs), {} ops x {} repeats "
             "(IPIs: totals over all CPUs; median [min-max] over the repeats):\n\n",
             r.scenario, r.cpus, r.iterations, r.repeat);
  if (const std::string p = params_text(r); !p.empty()) fmt::print(out, " sizes: {}\n\n", p);
  std::vector<std::vector<std::string>> rows{{"phase", "time/op", "[min-max]", "TLB IPIs",
                                              "[min-max]", "CAL IPIs", "tlb_flush/op (median rep)",
                                              "calls queued/op (median rep)"}};
  // "key=0.50 ..." per op, of the counts that are not zero.
  auto per_op = [](const std::map<std::string, std::uint64_t>& counts, std::uint64_t ops) {
    std::string text;
    for (const auto& [k, v] : counts)
      if (v && ops)
        text += fmt::format("{}{}={:.2f}", text.empty() ? "" : " ", k,
                            static_cast<double>(v) / static_cast<double>(ops));
    return text.empty() ? std::string("-") : text;
  };
  for (const auto& p : r.phases) {
    if (!p.skipped.empty()) {
      rows.push_back({p.name, "skipped: " + p.skipped});
      continue;
    }
    if (p.repeats.empty()) {  // the run was interrupted before it
      rows.push_back({p.name, "not run"});
      continue;
    }
    const spread t = over(p, [](const phase_sample& s) { return s.ns_per_op; });
    const spread i =
        over(p, [](const phase_sample& s) { return static_cast<double>(sum(s.tlb_ipis_per_cpu)); });
    const spread cal =
        over(p, [](const phase_sample& s) { return static_cast<double>(sum(s.cal_ipis_per_cpu)); });
    const phase_sample& m = p.repeats[p.repeats.size() / 2];
    rows.push_back({p.name, report::human_time(t.median),
                    fmt::format("[{}-{}]", report::human_time(t.min), report::human_time(t.max)),
                    fmt::format("{:.0f}", i.median), fmt::format("[{:.0f}-{:.0f}]", i.min, i.max),
                    fmt::format("{:.0f}", cal.median), per_op(m.flushes_by_reason, m.ops),
                    !r.have_csd_tracepoint         ? "n/a"
                    : p.csd_queued_missing.empty() ? per_op(m.csd_queued, m.ops)
                                                   : "not all seen (note)"});
  }
  // A skipped phase's reason is one long cell: print those rows after the aligned ones.
  std::vector<std::vector<std::string>> measured, other;
  for (auto& row : rows) (row.size() == 2 ? other : measured).push_back(std::move(row));
  report::print_aligned(out, measured);
  for (const auto& row : other) fmt::print(out, " {}  {}\n", row[0], row[1]);
  for (const auto& p : r.phases)
    if (!p.csd_queued_missing.empty())
      fmt::print(out, "\n note: {}: calls queued/op not shown: {}\n", p.name, p.csd_queued_missing);
  for (const auto& p : r.phases) {
    if (p.repeats.empty() || !p.repeats.front().has_fork_part) continue;
    const phase_sample& m = p.repeats[p.repeats.size() / 2];
    fmt::print(out,
               "\n note: {}: of these, the parent's fork() itself: tlb_flush/op {}, calls "
               "queued/op {}; the rest is the child's faults and exit\n",
               p.name, per_op(m.fork_flushes_by_reason, m.ops),
               r.have_csd_tracepoint ? per_op(m.fork_csd_queued, m.ops) : "not counted here");
  }
  for (const auto& p : r.phases) {
    // What other activity adds per op at this phase's speed, from the idle window before it.
    const double per_op = background_per_op(p, p.background.tlb_ipis + p.background.cal_ipis);
    if (per_op < 0.01) continue;
    fmt::print(out,
               "\n note: {}: in {:.0f} ms before it, with this process asleep, the machine took "
               "{} TLB and {} CAL interrupts: about {:.2f} per op at this phase's speed come from "
               "other activity, not the workload\n",
               p.name, p.background.seconds * 1e3, p.background.tlb_ipis, p.background.cal_ipis,
               per_op);
  }
  for (const auto& n : r.notes) fmt::print(out, "\n note: {}\n", n);
}

}  // namespace sd::host
