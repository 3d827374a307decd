#include "report/check_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/report.h"

namespace sd::report {

namespace {

using check::choice_kind;

std::string_view strategy_name(check::strategy s) {
  switch (s) {
    case check::strategy::dfs:
      return "dfs";
    case check::strategy::random:
      return "random";
    case check::strategy::pct:
      return "pct";
  }
  return "?";
}

std::string coverage(const check_report& r) {
  const auto& e = *r.explored;
  std::string how;
  switch (r.opt.strat) {
    case check::strategy::dfs:
      how = fmt::format("every schedule with at most {} preemption{}", r.opt.bound,
                        r.opt.bound == 1 ? "" : "s");
      if (e.violation)
        how += " (stopped at the first violation: not all of them)";
      else if (!e.exhausted)
        how += fmt::format(
            " (stopped at --max-executions {}, which counts every execution run: also those "
            "the reduction cut short and those a smaller bound already counted; not all of "
            "them)",
            r.opt.max_executions);
      break;
    case check::strategy::random:
      how = fmt::format("{} uniformly random schedules (seed {})", e.executions, r.opt.seed);
      break;
    case check::strategy::pct:
      how = fmt::format("{} PCT schedules of depth {} (seed {})", e.executions, r.opt.pct_depth,
                        r.opt.seed);
      break;
  }
  return how;
}

// The steps of a row, a run of one repeated group written once with its count: a loop such
// as zap_pte_range clearing 64 PTEs reads "64 x (pt_read, pt_write)".
// Only runs of at least 8 steps, so that short rows read step by step.
std::string steps_text(const std::vector<std::string>& w) {
  constexpr std::size_t k_min_run = 8, k_max_group = 4;
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < w.size();) {
    std::size_t best_len = 0, best_count = 0;
    for (std::size_t len = 1; len <= k_max_group && i + len <= w.size(); ++len) {
      std::size_t count = 1;
      while (i + (count + 1) * len <= w.size() &&
             std::equal(w.begin() + static_cast<std::ptrdiff_t>(i),
                        w.begin() + static_cast<std::ptrdiff_t>(i + len),
                        w.begin() + static_cast<std::ptrdiff_t>(i + count * len)))
        ++count;
      if (count >= 2 && count * len >= k_min_run && count * len > best_count * best_len) {
        best_len = len;
        best_count = count;
      }
    }
    if (best_len == 0) {
      parts.push_back(w[i++]);
      continue;
    }
    const auto group =
        fmt::format("{}", fmt::join(w.begin() + static_cast<std::ptrdiff_t>(i),
                                    w.begin() + static_cast<std::ptrdiff_t>(i + best_len), ", "));
    parts.push_back(best_len == 1 ? fmt::format("{} x {}", best_count, group)
                                  : fmt::format("{} x ({})", best_count, group));
    i += best_len * best_count;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

// A row of the counterexample: one actor's consecutive steps inside one kernel function
// (or the program op it starts).
struct row {
  std::size_t first, last;
  unsigned actor;
  std::string head;  // "» op" or "function: "
  std::vector<std::string> whats;
  bool irqs_off = false;
  bool is_op = false;
  std::string text() const {
    if (is_op) return head;
    return head + steps_text(whats) + (irqs_off ? " [irqs off]" : "");
  }
};

std::vector<row> fold(const check::replay_result& run) {
  std::vector<row> rows;
  std::vector<std::string> last_op(run.actor_names.size());
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const auto& s = run.steps[i];
    const unsigned a = s.c.actor;
    if (!s.op.empty() && s.op != last_op[a]) {
      rows.push_back({i, i, a, "» " + s.op, {}, false, true});
      last_op[a] = s.op;
    }
    const std::string head = s.function.empty() ? "" : s.function + ": ";
    row* r = rows.empty() ? nullptr : &rows.back();
    if (r && !r->is_op && r->actor == a && r->last + 1 == i && r->head == head &&
        s.c.kind == choice_kind::step && run.steps[r->last].c.kind == choice_kind::step &&
        r->irqs_off == s.irqs_off) {
      r->last = i;
      r->whats.push_back(s.what);
    } else {
      rows.push_back({i, i, a, head, {s.what}, s.irqs_off, false});
    }
  }
  return rows;
}

void print_counterexample(std::ostream& out, const check::replay_result& run) {
  std::vector<unsigned> actors;
  for (const auto& s : run.steps)
    if (std::find(actors.begin(), actors.end(), s.c.actor) == actors.end())
      actors.push_back(s.c.actor);
  std::sort(actors.begin(), actors.end());
  constexpr std::size_t w = 44;
  std::string head = fmt::format("  {:<9}", "step");
  for (unsigned a : actors) head += fmt::format(" {:<{}}", run.actor_names[a], w);
  out << fmt::format("{}\n", head.substr(0, head.find_last_not_of(' ') + 1));
  for (const auto& r : fold(run)) {
    const std::string steps = r.first == r.last ? fmt::format("{}", r.first + 1)
                                                : fmt::format("{}-{}", r.first + 1, r.last + 1);
    std::string line = fmt::format("  {:<9}", steps);
    for (unsigned a : actors) {
      if (a != r.actor) {
        line += fmt::format(" {:<{}}", "", w);
        continue;
      }
      line += " " + r.text();
      break;
    }
    out << line.substr(0, line.find_last_not_of(' ') + 1) << "\n";
  }
}

}  // namespace

std::string left_out(const check::check_config& cfg, const check::explore_options& opt) {
  std::string s;
  if (opt.strat == check::strategy::dfs)
    s = fmt::format("schedules with more than {} preemptions; ", opt.bound);
  else
    s = "schedules not sampled; ";
  if (!cfg.evictions) s += "TLB and walk-cache evictions (--evictions); ";
  s += cfg.walks_all ? "speculative walks of addresses the program does not touch"
                     : "speculative walks by CPUs running the mm (--walks all) and of addresses "
                       "the program does not touch";
  if (cfg.arch != "x86-kvm") s += "; vCPU preemption (x86-kvm only)";
  s += "; slow GUP, VMA splits and THP split are not modeled";
  return s;
}

void print_check(std::ostream& out, const check_report& r) {
  const auto& c = r.cfg;
  out << fmt::format(
      "\n check {} ({}): {}, {} CPUs, patches {}{}\n\n", c.prog.name, c.prog.source, c.arch, c.cpus,
      c.patch_spec,
      c.knobs_off.empty() ? "" : ", knobs off: " + fmt::format("{}", fmt::join(c.knobs_off, ",")));
  const bool violation = r.run && r.run->violation;
  if (r.explored) {
    const auto& e = *r.explored;
    if (e.violation) {
      out << fmt::format(" VIOLATION {} after {} execution{} ({:.2f} s, strategy {})\n",
                         check::invariant_name(e.first.inv), e.executions,
                         e.executions == 1 ? "" : "s", e.seconds, strategy_name(r.opt.strat));
    } else {
      out << fmt::format(
          " no violation: {} execution{} explored, {} pruned by reduction, {:.2f} s\n",
          e.executions, e.executions == 1 ? "" : "s", e.pruned, e.seconds);
      out << fmt::format(" covered:  {}; longest execution {} choices\n", coverage(r), e.max_depth);
      out << fmt::format(" left out: {}\n", left_out(c, r.opt));
      return;
    }
  } else {
    out << fmt::format(" replay of the given schedule: {}\n",
                       violation
                           ? fmt::format("VIOLATION {}", check::invariant_name(r.run->first.inv))
                           : std::string("no violation"));
  }
  if (!r.run) return;
  if (violation) {
    const auto& v = r.run->first;
    out << fmt::format(" {}\n", check::invariant_help(v.inv));
    out << fmt::format(" object: {}; at: {}\n {}\n", v.object, v.step, v.detail);
  }
  out << fmt::format(
      "\n {}, {} choices (consecutive steps of one CPU in one function "
      "folded; » = the program op it starts):\n",
      violation ? "counterexample" : "the schedule run", r.run->steps.size());
  print_counterexample(out, *r.run);
  out << fmt::format("\n replay: {}\n", r.replay_command);
}

nlohmann::ordered_json check_json(const check_report& r) {
  using json = nlohmann::ordered_json;
  const auto& c = r.cfg;
  json j;
  j["version"] = std::string(version());
  j["config"] = {{"program", c.prog.name},
                 {"source", c.prog.source},
                 {"arch", c.arch},
                 {"cpus", c.cpus},
                 {"patch_set", c.patch_spec},
                 {"patches", c.patches.names()},
                 {"knobs_off", c.knobs_off},
                 {"walks", c.walks_all ? "all" : "lazy"},
                 {"evictions", c.evictions},
                 {"strategy", strategy_name(r.opt.strat)},
                 {"bound", r.opt.bound},
                 {"max_executions", r.opt.max_executions},
                 {"seed", r.opt.seed}};
  const bool violation = r.run && r.run->violation;
  j["verdict"] = violation ? "violation" : "no violation";
  if (r.explored) {
    const auto& e = *r.explored;
    j["coverage"] = {{"executions", e.executions},    {"pruned_by_reduction", e.pruned},
                     {"exhausted", e.exhausted},      {"longest_execution", e.max_depth},
                     {"seconds", e.seconds},          {"covered", coverage(r)},
                     {"left_out", left_out(c, r.opt)}};
  }
  if (violation) {
    const auto& v = r.run->first;
    j["violation"] = {{"invariant", check::invariant_name(v.inv)},
                      {"cpus", v.cpus},
                      {"object", v.object},
                      {"step", v.step},
                      {"detail", v.detail}};
  }
  if (r.run) {
    json steps = json::array();
    for (const auto& s : r.run->steps)
      steps.push_back({{"choice", check::to_string(s.c)},
                       {"actor", r.run->actor_names[s.c.actor]},
                       {"op", s.op},
                       {"function", s.function},
                       {"what", s.what},
                       {"irqs_off", s.irqs_off}});
    j["counterexample"] = std::move(steps);
    j["schedule"] = check::encode_schedule(r.run->schedule);
    j["replay"] = r.replay_command;
  }
  return j;
}

std::string replay_command(const check::check_config& c, const std::string& schedule) {
  std::string cmd = fmt::format("shootdown check --program {} --arch {} --cpus {} --patches {}",
                                c.prog.source == "built-in" ? c.prog.name : c.prog.source, c.arch,
                                c.cpus, c.patch_spec);
  for (const auto& k : c.knobs_off) cmd += " --knob " + k + "=off";
  if (c.walks_all) cmd += " --walks all";
  if (c.evictions) cmd += " --evictions";
  return cmd + " --replay '" + schedule + "'";
}

}  // namespace sd::report
