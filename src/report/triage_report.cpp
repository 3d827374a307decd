#include "report/triage_report.h"

#include <fmt/format.h>

#include "report/report.h"
#include "report/text_table.h"
#include "triage/reading.h"

namespace sd::report {

namespace {

using triage::check_outcome;
using triage::row;

// A replay command on its own line under the item it proves.
std::string replay_line(const std::string& replay, bool markdown) {
  return markdown ? "\n  `" + replay + "`\n" : "\n    " + replay + "\n";
}

std::string cost_cell(const row& r) {
  if (!r.cost) return "-";
  const auto h = triage::headline(*r.cost);
  return h ? fmt::format("{} {}", h->metric, triage::change_text(*h)) : "no change";
}

std::string header(const triage::result& r) {
  return fmt::format(
      "triage {} -> {}: {} feature{} x {} arch{}; check: dfs bound {}, at most {} executions a "
      "run; cost: at {} CPUs\n{} check runs and {} cost runs in {:.1f} s",
      r.opt.from, r.opt.to, r.diff.size(), r.diff.size() == 1 ? "" : "s", r.opt.arches.size(),
      r.opt.arches.size() == 1 ? "" : "es", r.opt.bound, r.opt.max_executions, r.opt.cpus,
      r.check_runs, r.cost_runs, r.seconds);
}

// Every violation a row rests on: which set, which program, the replay command.
std::vector<std::pair<std::string, std::string>> evidence(const row& r) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto add = [&out](const char* which, const check_outcome& c) {
    if (c.violation)
      out.emplace_back(fmt::format("{} ({}): {} violates {}: {}", which, c.patch_spec, c.program,
                                   c.invariant, c.detail),
                       c.replay);
  };
  for (const auto& p : r.programs) {
    add("with it", p.with);
    add("without it", p.without);
  }
  for (const auto& v : r.variants)
    for (const auto& c : v.runs) add(patches::info(v.variant).name.data(), c);
  return out;
}

nlohmann::ordered_json outcome_json(const check_outcome& c) {
  nlohmann::ordered_json j = {{"program", c.program},
                              {"arch", c.arch},
                              {"cpus", c.cpus},
                              {"knobs_off", c.knobs_off},
                              {"patches", c.patch_spec},
                              {"strategy", c.strategy},
                              {"verdict", c.violation ? "violation" : "no violation"},
                              {"executions", c.executions},
                              {"exhausted", c.exhausted},
                              {"seconds", c.seconds}};
  if (c.violation) {
    j["invariant"] = c.invariant;
    j["detail"] = c.detail;
    j["replay"] = c.replay;
  }
  return j;
}

}  // namespace

void print_triage(std::ostream& out, const triage::result& r, bool markdown) {
  const std::string head = header(r);
  if (markdown) {
    out << head
        << "\n\n| feature | provenance | arch | safety | cost (without -> with) | forced / as "
           "posted | reading |\n|---|---|---|---|---|---|---|\n";
    for (const auto& x : r.rows) {
      const auto& info = patches::info(x.feature);
      out << fmt::format("| `{}` | {}; seed {} | {} | {} | {} | {} | {} |\n", info.name,
                         info.provenance, info.seed, x.arch, triage::to_string(x.verdict),
                         cost_cell(x), triage::variant_cell(x), x.reading);
    }
  } else {
    std::string indented = "\n ";
    for (char ch : head) indented += ch == '\n' ? std::string("\n ") : std::string(1, ch);
    out << indented << "\n\n";
    std::vector<std::vector<std::string>> rows = {
        {"feature", "arch", "safety", "cost (without -> with)", "forced / as posted"}};
    for (const auto& x : r.rows)
      rows.push_back({std::string(patches::info(x.feature).name), x.arch,
                      std::string(triage::to_string(x.verdict)), cost_cell(x),
                      triage::variant_cell(x)});
    print_aligned(out, rows);
    out << "\n";
    for (const auto& x : r.rows)
      out << fmt::format(" {} on {}: {}\n", patches::info(x.feature).name, x.arch, x.reading);
  }
  bool any = false;
  for (const auto& x : r.rows) {
    const auto ev = evidence(x);
    if (ev.empty()) continue;
    if (!any)
      out << (markdown ? "\nEvidence (replay each with the command given):\n\n" : "\n evidence:\n");
    any = true;
    for (const auto& [what, replay] : ev)
      out << (markdown ? "- " : "  ") << patches::info(x.feature).name << " on " << x.arch << ", "
          << what << replay_line(replay, markdown);
  }
  if (!r.dropped.empty())
    out << (markdown ? "\n" : "\n ")
        << "in --from but not in --to (not triaged): " << triage::feature_list(r.dropped) << "\n";
  if (!r.to_violations.empty()) {
    out << (markdown ? "\n**" : "\n ") << "the --to set itself has violations"
        << (markdown ? "**" : "") << ":\n";
    for (const auto& u : r.to_violations) {
      const auto& c = u.run;
      out << (markdown ? "- " : "  ") << c.program << " on " << c.arch << ": " << c.invariant
          << replay_line(c.replay, markdown);
      for (const auto& t : u.tried)
        out << (markdown ? "  - " : "    ") << "with " << patches::info(t.feature).name << ": "
            << (t.run.violation ? t.run.invariant + " still"
                                : fmt::format("no violation ({} executions{})", t.run.executions,
                                              t.run.exhausted ? ", every schedule within the bound"
                                                              : ", capped"))
            << "\n";
    }
  }
}

nlohmann::ordered_json triage_json(const triage::result& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["version"] = std::string(version());
  j["config"] = {{"from", r.opt.from},     {"to", r.opt.to},
                 {"arches", r.opt.arches}, {"cpus", r.opt.cpus},
                 {"bound", r.opt.bound},   {"max_executions", r.opt.max_executions}};
  json diff = json::array(), dropped = json::array();  // names, for scripts
  for (auto f : r.diff) diff.push_back(patches::info(f).name);
  for (auto f : r.dropped) dropped.push_back(patches::info(f).name);
  j["features"] = diff;
  j["not_triaged"] = dropped;
  json rows = json::array();
  for (const auto& x : r.rows) {
    const auto& info = patches::info(x.feature);
    json row = {{"feature", info.name},
                {"provenance", info.provenance},
                {"seed", info.seed},
                {"arch", x.arch},
                {"safety", triage::to_string(x.verdict)}};
    json with = json::array();
    for (auto f : x.removed_with) with.push_back(patches::info(f).name);
    row["removed_with"] = with;
    if (!x.why_no_effect.empty()) row["why"] = x.why_no_effect;
    json programs = json::array();
    for (const auto& p : x.programs)
      programs.push_back({{"with", outcome_json(p.with)}, {"without", outcome_json(p.without)}});
    row["programs"] = programs;
    json variants = json::array();
    for (const auto& v : x.variants) {
      json runs = json::array();
      for (const auto& c : v.runs) runs.push_back(outcome_json(c));
      variants.push_back({{"variant", patches::info(v.variant).name}, {"runs", runs}});
    }
    row["variants"] = variants;
    if (x.cost) {
      json changed = json::array();
      for (const auto& m : x.cost->changed)
        changed.push_back({{"metric", m.metric},
                           {"without", m.without},
                           {"with", m.with},
                           {"ratio", m.without == 0 ? json(nullptr) : json(m.with / m.without)}});
      row["cost"] = {{"scenario", x.cost->scenario},
                     {"knobs_off", x.cost->knobs_off},
                     {"cpus", x.cost->cpus},
                     {"with", x.cost->with_spec},
                     {"without", x.cost->without_spec},
                     {"violation_with", x.cost->violation_with},
                     {"violation_without", x.cost->violation_without},
                     {"changed", changed}};
    } else {
      row["cost"] = nullptr;
    }
    row["reading"] = x.reading;
    rows.push_back(row);
  }
  j["rows"] = rows;
  json bad = json::array();
  for (const auto& u : r.to_violations) {
    json tried = json::array();
    for (const auto& t : u.tried)
      tried.push_back({{"feature", patches::info(t.feature).name}, {"run", outcome_json(t.run)}});
    json v = outcome_json(u.run);
    v["fixes_tried"] = tried;
    bad.push_back(v);
  }
  j["to_violations"] = bad;
  j["seconds"] = r.seconds;
  return j;
}

}  // namespace sd::report
