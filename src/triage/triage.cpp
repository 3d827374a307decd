#include "triage/triage.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "arch/arch.h"
#include "report/compare.h"
#include "triage/jobs.h"
#include "triage/reading.h"
#include "triage/registry.h"
#include "workload/config.h"

namespace sd::triage {

using patches::feature;
using patches::patch_set;

std::string_view to_string(safety s) {
  switch (s) {
    case safety::required:
      return "required";
    case safety::not_required:
      return "not-required";
    case safety::makes_unsafe:
      return "makes-unsafe";
    case safety::unsafe_either_way:
      return "unsafe-either-way";
    case safety::no_effect:
      return "no-effect";
    case safety::not_checked:
      return "not-checked";
  }
  return "?";
}

bool check_outcome::operator==(const check_outcome& o) const {
  return violation == o.violation && invariant == o.invariant && executions == o.executions &&
         exhausted == o.exhausted;
}

namespace {

patch_set parse_set(const std::string& spec, const char* flag) {
  try {
    return patches::parse_patch_set(spec);
  } catch (const std::invalid_argument& e) {
    throw workload::input_error(std::string(flag) + ": " + e.what());
  }
}

// Whether g is only valid with f (directly or through another feature).
bool needs(feature g, feature f) {
  const entry* e = find_entry(g);
  if (!e) return false;
  return std::any_of(e->needs.begin(), e->needs.end(),
                     [&](feature n) { return n == f || needs(n, f); });
}

cost_evidence cost_of(const cost_job& with, const cost_job& without) {
  cost_evidence c;
  c.scenario = with.scenario;
  c.knobs_off = with.knobs_off;
  c.cpus = with.cpus;
  c.with_spec = with.spec;
  c.without_spec = without.spec;
  c.violation_with = !with.out->r.ok();
  c.violation_without = !without.out->r.ok();
  const std::vector<report::compare_row> rows{*without.out, *with.out};
  for (const auto& col : report::default_columns(rows)) {
    const auto a = report::column_value(*without.out, col);
    const auto b = report::column_value(*with.out, col);
    if (a.value_or(0) != b.value_or(0)) c.changed.push_back({col, a.value_or(0), b.value_or(0)});
  }
  return c;
}

safety judge(const row& r) {
  const auto any = [&r](auto pred) {
    return std::any_of(r.programs.begin(), r.programs.end(), pred);
  };
  const bool same = std::all_of(r.programs.begin(), r.programs.end(),
                                [](const program_evidence& p) { return p.with == p.without; }) &&
                    (!r.cost || r.cost->changed.empty());
  if (same) return safety::no_effect;
  if (any([](const program_evidence& p) { return p.without.violation && !p.with.violation; }))
    return safety::required;
  if (any([](const program_evidence& p) { return p.with.violation && !p.without.violation; }))
    return safety::makes_unsafe;
  if (any([](const program_evidence& p) { return p.with.violation; }))
    return safety::unsafe_either_way;
  return safety::not_required;
}

// Whether an arch list of the registry (empty: every arch) includes arch.
bool listed(std::span<const std::string_view> arches, const std::string& arch) {
  return arches.empty() || std::find(arches.begin(), arches.end(), arch) != arches.end();
}

// Whether job j runs target t (the same program, CPUs, knobs and strategy).
bool same_target(const program_target& t, const check_job& j) {
  return t.program == j.program && t.cpus == j.cpus && t.pct_schedules == j.pct_schedules &&
         std::equal(t.knobs_off.begin(), t.knobs_off.end(), j.knobs_off.begin(), j.knobs_off.end());
}

// A preset's feature (not a check-only variant).
bool in_a_preset(feature f) {
  for (const auto& p : patches::presets())
    if (std::find(p.features.begin(), p.features.end(), f) != p.features.end()) return true;
  return false;
}

// For every violation of the --to set: each preset feature outside it whose registry entry
// lists the violating program is tried, with the features it needs, on the same program.
void find_fixes(const options& opt, const patch_set& to, planner& plan, result& res) {
  const std::size_t first = plan.checks.size();
  std::vector<std::pair<std::size_t, std::vector<std::pair<feature, std::size_t>>>> found;
  for (std::size_t i = 0; i < first; ++i) {
    // A copy: planning more runs below grows plan.checks, which moves its elements.
    const check_job j = plan.checks[i];
    if (!j.out.violation || j.spec != opt.to) continue;
    std::vector<std::pair<feature, std::size_t>> tries;
    for (const entry& e : entries()) {
      if (to[e.id] || !in_a_preset(e.id) || !listed(e.arches, j.arch)) continue;
      for (const auto& t : e.programs) {
        if (!same_target(t, j) || !listed(t.arches, j.arch)) continue;
        patch_set with = to;
        std::string spec = opt.to;
        with.set(e.id);
        for (feature n : e.needs) with.set(n);
        for (const auto& g : patches::features())
          if (with[g.id] && !to[g.id]) spec += "+" + std::string(g.name);
        tries.emplace_back(e.id, plan.check(t, j.arch, spec, with));
      }
    }
    found.emplace_back(i, std::move(tries));
  }
  run_planned(opt, plan, first, plan.costs.size());
  for (const auto& [i, tries] : found) {
    unsafe_to u{plan.checks[i].out, {}};
    for (const auto& [f, k] : tries) u.tried.push_back({f, plan.checks[k].out});
    res.to_violations.push_back(std::move(u));
  }
}

}  // namespace

result run(const options& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  result res;
  res.opt = opt;
  const patch_set from = parse_set(opt.from, "--from");
  const patch_set to = parse_set(opt.to, "--to");
  for (const auto& a : opt.arches)
    if (!arch::find_arch(a)) throw workload::input_error("--arches: unknown arch '" + a + "'");
  for (const auto& f : patches::features()) {
    if (to[f.id] && !from[f.id]) res.diff.push_back(f.id);
    if (from[f.id] && !to[f.id]) res.dropped.push_back(f.id);
  }

  // Plan every row and the runs it needs.
  planner plan(opt);
  struct pending {
    std::vector<std::pair<std::size_t, std::size_t>> programs;  // with, without
    std::vector<std::pair<feature, std::vector<std::size_t>>> variants;
    std::optional<std::pair<std::size_t, std::size_t>> cost;
  };
  std::vector<pending> todo;
  for (feature f : res.diff) {
    const entry* e = find_entry(f);
    patch_set without = to;
    std::string without_spec = opt.to;
    std::vector<feature> removed_with;
    for (const auto& g : patches::features())
      if (to[g.id] && (g.id == f || needs(g.id, f))) {
        without.set(g.id, false);
        without_spec += "~" + std::string(g.name);
        if (g.id != f) removed_with.push_back(g.id);
      }
    for (const auto& a : opt.arches) {
      row r;
      r.feature = f;
      r.arch = a;
      r.removed_with = removed_with;
      pending p;
      if (!e || (e->programs.empty() && !e->scenario)) {
        r.verdict = safety::not_checked;
        r.why_no_effect = e ? std::string(e->not_modeled) : "no triage registry entry";
      } else if (!listed(e->arches, a)) {
        r.verdict = safety::no_effect;
        r.why_no_effect = fmt::format("the change is in {} code", fmt::join(e->arches, ", "));
      } else {
        for (const auto& t : e->programs)
          if (listed(t.arches, a))
            p.programs.emplace_back(plan.check(t, a, opt.to, to),
                                    plan.check(t, a, without_spec, without));
        for (feature v : e->variants) {
          if (to[v]) continue;
          patch_set forced = to;
          forced.set(v);
          std::vector<std::size_t> runs;
          for (const auto& t : e->programs)
            if (listed(t.arches, a))
              runs.push_back(
                  plan.check(t, a, opt.to + "+" + std::string(patches::info(v).name), forced));
          if (!runs.empty()) p.variants.emplace_back(v, std::move(runs));
        }
        if (e->scenario)
          p.cost.emplace(plan.cost(*e->scenario, a, opt.to, to),
                         plan.cost(*e->scenario, a, without_spec, without));
      }
      res.rows.push_back(std::move(r));
      todo.push_back(std::move(p));
    }
  }

  run_planned(opt, plan, 0, 0);

  // Assemble the rows.
  for (std::size_t i = 0; i < res.rows.size(); ++i) {
    row& r = res.rows[i];
    const pending& p = todo[i];
    for (auto [w, wo] : p.programs) r.programs.push_back({plan.checks[w].out, plan.checks[wo].out});
    for (const auto& [v, runs] : p.variants) {
      variant_evidence ve{v, {}};
      for (std::size_t k : runs) ve.runs.push_back(plan.checks[k].out);
      r.variants.push_back(std::move(ve));
    }
    if (p.cost) r.cost = cost_of(plan.costs[p.cost->first], plan.costs[p.cost->second]);
    if (!p.programs.empty() || p.cost) {
      r.verdict = judge(r);
      if (r.verdict == safety::no_effect)
        r.why_no_effect = "measured: the same verdicts, executions and costs with and without it";
    }
    r.reading = reading(r);
  }
  find_fixes(opt, to, plan, res);
  res.check_runs = plan.checks.size();
  res.cost_runs = plan.costs.size();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace sd::triage
