#include "triage/reading.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace sd::triage {

namespace {

// What a reviewer asks first: interrupts (on isolated CPUs above all), then sync
// broadcasts, flushes and broadcast TLBIs, then the time of the timed operations.
constexpr std::array<std::string_view, 8> k_priority = {
    "ipis_to_isolated", "ipis_sent", "sync_broadcasts", "tlbi_broadcasts",
    "flush_requests",   "dsb_waits", "flush_ns",        "page_faults"};

std::string number(double v) {
  if (v == static_cast<double>(static_cast<long long>(v)))
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{:.1f}", v);
}

std::string program_list(const row& r, bool (*pick)(const program_evidence&)) {
  std::string out;
  for (const auto& p : r.programs)
    if (pick(p)) out += (out.empty() ? "" : ", ") + p.with.program;
  return out;
}

// What the check runs of a row (those `pick` selects) covered.
std::string coverage(const row& r, bool (*pick)(const program_evidence&) = nullptr) {
  std::uint64_t executions = 0, sampled = 0;
  bool exhausted = true;
  for (const auto& p : r.programs) {
    if (pick && !pick(p)) continue;
    for (const check_outcome* c : {&p.with, &p.without}) {
      if (c->strategy == "pct") {
        sampled += c->executions;
        continue;
      }
      executions += c->executions;
      exhausted = exhausted && c->exhausted;
    }
  }
  std::string out =
      fmt::format("{} executions, {}", number(static_cast<double>(executions)),
                  exhausted ? "every schedule within the bound" : "capped: not every schedule");
  if (sampled) out += fmt::format("; {} PCT-sampled", number(static_cast<double>(sampled)));
  return out;
}

std::string cost_text(const row& r) {
  if (!r.cost) return "";
  const auto h = headline(*r.cost);
  if (!h) return fmt::format("; no cost change in {}", r.cost->scenario);
  return fmt::format("; {} {} in {} at {} CPUs", h->metric, change_text(*h), r.cost->scenario,
                     r.cost->cpus);
}

std::string variant_text(const row& r) {
  std::string out;
  for (const auto& v : r.variants) {
    const check_outcome* bad = first_violation(v);
    const std::string_view name = patches::info(v.variant).name;
    if (!bad)
      out += fmt::format("; with {}: no violation", name);
    else
      out += fmt::format("; with {}: {} in {}", name, bad->invariant, bad->program);
  }
  return out;
}

}  // namespace

std::string feature_list(std::span<const patches::feature> fs) {
  std::string out;
  for (auto f : fs) out += (out.empty() ? "" : ", ") + std::string(patches::info(f).name);
  return out;
}

const check_outcome* first_violation(const variant_evidence& v) {
  const auto bad = std::find_if(v.runs.begin(), v.runs.end(),
                                [](const check_outcome& c) { return c.violation; });
  return bad == v.runs.end() ? nullptr : &*bad;
}

std::optional<metric_change> headline(const cost_evidence& c) {
  for (auto name : k_priority)
    for (const auto& m : c.changed)
      if (m.metric == name) return m;
  for (const auto& m : c.changed)
    if (m.metric.starts_with("op:")) return m;
  if (!c.changed.empty()) return c.changed.front();
  return std::nullopt;
}

std::string change_text(const metric_change& m) {
  if (m.without == 0) return fmt::format("{} -> {}", number(m.without), number(m.with));
  return fmt::format("{} -> {} (x{:.3g})", number(m.without), number(m.with), m.with / m.without);
}

namespace {

std::string verdict_text(const row& r) {
  const std::string& a = r.arch;
  switch (r.verdict) {
    case safety::not_checked:
      return fmt::format("not checked: {}", r.why_no_effect);
    case safety::no_effect:
      return fmt::format("no effect on {}: {}{}", a, r.why_no_effect, variant_text(r));
    case safety::required: {
      const auto it = std::find_if(r.programs.begin(), r.programs.end(), [](const auto& p) {
        return p.without.violation && !p.with.violation;
      });
      return fmt::format("required for safety on {}: without it {} violates {}{}{}", a,
                         it->without.program, it->without.invariant, cost_text(r), variant_text(r));
    }
    case safety::makes_unsafe: {
      const auto it = std::find_if(r.programs.begin(), r.programs.end(), [](const auto& p) {
        return p.with.violation && !p.without.violation;
      });
      return fmt::format("makes {} unsafe: with it {} violates {}{}{}", a, it->with.program,
                         it->with.invariant, cost_text(r), variant_text(r));
    }
    case safety::unsafe_either_way: {
      const auto it = std::find_if(r.programs.begin(), r.programs.end(),
                                   [](const auto& p) { return p.with.violation; });
      const auto clean = [](const program_evidence& p) {
        return !p.with.violation && !p.without.violation;
      };
      const std::string safe = program_list(r, clean);
      return fmt::format(
          "the --to set is unsafe on {} with and without it ({} violates {}), so it is not "
          "this feature that decides{}{}{}",
          a, it->with.program, it->with.invariant,
          safe.empty()
              ? ""
              : fmt::format("; no violation either way in {} ({})", safe, coverage(r, clean)),
          cost_text(r), variant_text(r));
    }
    case safety::not_required:
      return fmt::format("not needed for safety on {} ({}){}{}", a, coverage(r), cost_text(r),
                         variant_text(r));
  }
  return "";
}

}  // namespace

std::string reading(const row& r) {
  std::string text = verdict_text(r);
  if (!r.removed_with.empty() && r.verdict != safety::no_effect &&
      r.verdict != safety::not_checked) {
    text +=
        fmt::format(" (without it means without {} too, which {} it)", feature_list(r.removed_with),
                    r.removed_with.size() == 1 ? "needs" : "need");
  }
  return text;
}

std::string variant_cell(const row& r) {
  std::string out;
  for (const auto& v : r.variants) {
    const check_outcome* bad = first_violation(v);
    out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", patches::info(v.variant).name,
                       bad ? bad->invariant : "none");
  }
  return out.empty() ? "-" : out;
}

}  // namespace sd::triage
