#include <fmt/format.h>

#include <iostream>

#include "arch/arch.h"
#include "check/monitor.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cost/cost_model.h"
#include "patches/knobs.h"
#include "patches/patches.h"
#include "program/program.h"
#include "report/metric_list.h"
#include "triage/reading.h"
#include "triage/registry.h"
#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/cost_file.h"
#include "workload/units.h"

namespace sd::cli {

namespace {

void list_arches() {
  fmt::print("arches:\n");
  for (const auto& a : arch::arches()) fmt::print("  {:<12} {}\n", a.name, a.summary);
}

void list_scenarios() {
  fmt::print("scenarios:\n");
  for (const auto& s : workload::builtins()) {
    fmt::print("  {}  ({})\n    {}\n", s.name, s.provenance, s.summary);
    for (const auto& p : s.params)
      fmt::print("      {:<14} {:<7} default {:<8} (at 8 CPUs)  {}\n", p.name,
                 workload::kind_name(p.kind), workload::format_param(p, p.default_for(8)), p.help);
  }
}

void list_common_params() {
  fmt::print("  parameters of every scenario:\n");
  for (const auto& p : workload::common_params())
    fmt::print("      {:<22} {:<7} default {:<8} {}\n", p.name, workload::kind_name(p.kind),
               workload::format_param(p, p.default_for(8)), p.help);
}

void list_knobs() {
  fmt::print("knobs (all on by default; off = the kernel without that step):\n");
  for (const auto& k : patches::knobs()) {
    fmt::print("  {:<26} {}\n      source: {}\n", k.name, k.help, k.source);
    if (!k.program.empty()) fmt::print("      check finds it off on: program {}\n", k.program);
    if (!k.no_race.empty()) fmt::print("      no race to find: {}\n", k.no_race);
  }
}

void list_costs(const std::string& cost_file) {
  fmt::print("cost parameters (ns; presets x86-server / arm64-server; largest accepted):\n");
  for (const auto& p : cost::params())
    fmt::print("  {:<24} {:>9} {:>9} {:>7}  {}\n      source: {}\n", p.name, p.x86_server,
               p.arm64_server, workload::format_time_ns(cost::max_value(p.id)), p.help, p.source);
  if (cost_file.empty()) return;
  // What --cost-file FILE would set, and on what evidence (host --calibrate records it).
  const workload::cost_file f = workload::load_cost_file(cost_file);
  fmt::print("\ncost file {} ({} parameter{}; --cost-file, --cost overrides it):\n", f.path,
             f.costs.size(), f.costs.size() == 1 ? "" : "s");
  for (const auto& [k, v] : f.calibration) fmt::print("  {}: {}\n", k, v);
  for (const auto& v : {f.costs, f.machine})
    for (const auto& c : v) {
      const auto it = f.sources.find(c.key);
      fmt::print("  {:<24} {:>9}  source: {}\n", c.key, c.text,
                 it == f.sources.end() ? "not stated in the file" : it->second);
    }
}

void list_metrics() {
  fmt::print("metrics (simulate's table and JSON, compare's columns; totals over all CPUs):\n");
  for (const auto& m : report::scalar_metrics())
    fmt::print("  {:<22} {:<5} {}\n      on a real kernel: {}\n", m.name,
               m.unit == report::metric_unit::ns ? "ns" : "count", m.help, m.kernel);
  fmt::print("  {:<22} {:<5} {}\n      on a real kernel: {}\n", "tlb_flush:REASON", "count",
             "TLB flushes by the reason the kernel traces (flushes_by_reason in the JSON)",
             "tracepoint tlb:tlb_flush, field reason (shootdown host counts it per process)");
  fmt::print("  {:<22} {:<5} {}\n      on a real kernel: {}\n", "ipis_received_per_cpu", "count",
             "IPI interrupts each CPU took (JSON)", "/proc/interrupts CAL per CPU (x86)");
  fmt::print("  {:<22} {:<5} {}\n      on a real kernel: {}\n", "op:NAME", "ns",
             "an operation's latency: mean, p50, p90, p99, max (op_latency in the JSON)",
             "the workload's own clock_gettime around it (host: wall_ns_per_op)");
  fmt::print("  {:<22} {:<5} {}\n      on a real kernel: {}\n", "flushes_per:NAME", "count",
             "flush calls the operation's CPU made per operation", "tlb:tlb_flush per operation");
}

void list_invariants() {
  fmt::print("invariants:\n");
  for (unsigned i = 0; i < static_cast<unsigned>(check::invariant::count_); ++i) {
    const auto inv = static_cast<check::invariant>(i);
    fmt::print("  {:<30} {}\n", check::invariant_name(inv), check::invariant_help(inv));
  }
}

void list_patches() {
  fmt::print("patch features (--patches A+B, or a preset, or a preset+features):\n");
  for (const auto& f : patches::features())
    fmt::print("  {:<32} {}\n      from: {} (seed {})\n      model: {}\n", f.name, f.summary,
               f.provenance, f.seed, f.modeled);
  fmt::print("\npresets (default {}):\n", patches::k_default_preset);
  for (const auto& p : patches::presets()) {
    std::vector<std::string_view> names;
    for (auto f : p.features) names.push_back(patches::info(f).name);
    fmt::print(
        "  {:<16} {}\n      = {}\n", p.name, p.why,
        names.empty() ? std::string("(nothing)") : fmt::format("{}", fmt::join(names, " + ")));
  }
  fmt::print(
      "\nNot modeled, by design: seed 003's vm_normal_page*(), rmap (__folio_mod_stat) and\n"
      "pgtable_level refactors change no flush or IPI behaviour (their commits say 'no\n"
      "functional change intended').\n");
}

void list_programs() {
  fmt::print("programs (shootdown check --program NAME; the files are in programs/):\n");
  for (const auto& s : program::shipped_programs()) {
    const program::program p = program::load_program(std::string(s.name));
    fmt::print("  {:<26} {} CPUs  {}\n", s.name, p.min_cpus(), p.description);
  }
}

std::string target_text(const triage::program_target& t) {
  std::vector<std::string> how;
  if (t.cpus) how.push_back(fmt::format("{} CPUs", t.cpus));
  for (auto k : t.knobs_off) how.push_back(fmt::format("{}=off", k));
  if (!t.arches.empty()) how.push_back(fmt::format("on {}", fmt::join(t.arches, ", ")));
  if (t.pct_schedules) how.push_back(fmt::format("{} PCT schedules", t.pct_schedules));
  return how.empty() ? std::string(t.program)
                     : fmt::format("{} ({})", t.program, fmt::join(how, ", "));
}

void list_triage() {
  fmt::print(
      "triage (per feature: the check programs run with and without it, the cost scenario; "
      "docs/triage.md):\n");
  for (const auto& e : triage::entries()) {
    fmt::print("  {}\n", patches::info(e.id).name);
    if (!e.not_modeled.empty()) {
      fmt::print("      not checked: {}\n", e.not_modeled);
      continue;
    }
    std::vector<std::string> programs;
    for (const auto& t : e.programs) programs.push_back(target_text(t));
    fmt::print("      check:    {}\n", fmt::join(programs, "; "));
    if (e.scenario)
      fmt::print("      cost:     {}{}\n", e.scenario->scenario,
                 e.scenario->knobs_off.empty()
                     ? std::string()
                     : fmt::format(" ({}=off)", fmt::join(e.scenario->knobs_off, "=off, ")));
    fmt::print("      arches:   {}\n", e.arches.empty()
                                           ? std::string("all")
                                           : fmt::format("{}", fmt::join(e.arches, ", ")));
    if (!e.needs.empty()) fmt::print("      needs:    {}\n", triage::feature_list(e.needs));
    if (!e.variants.empty()) fmt::print("      variants: {}\n", triage::feature_list(e.variants));
  }
}

}  // namespace

command_fn add_list(CLI::App& app) {
  auto what = std::make_shared<std::string>();
  auto cost_file = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "list",
      "list arches, scenarios, programs, knobs, costs, metrics, invariants, patches, triage");
  sub->add_option("what", *what,
                  "one of: arches, scenarios, programs, knobs, costs, metrics, invariants, "
                  "patches, triage")
      ->type_name("WHAT")
      ->check(one_of({"arches", "scenarios", "programs", "knobs", "costs", "metrics", "invariants",
                      "patches", "triage"}));
  sub->add_option("--cost-file", *cost_file,
                  "with costs: also show what this cost file sets, and where each value came from")
      ->type_name("FILE");
  return [what, cost_file]() -> int {
    const std::string& w = *what;
    if (!cost_file->empty() && !w.empty() && w != "costs")
      throw workload::input_error("--cost-file only applies to 'list costs'");
    if (w.empty() || w == "arches") list_arches();
    if (w.empty() || w == "scenarios") {
      list_scenarios();
      list_common_params();
    }
    if (w.empty() || w == "programs") list_programs();
    if (w.empty() || w == "knobs") list_knobs();
    if (w.empty() || w == "costs") list_costs(*cost_file);
    if (w.empty() || w == "metrics") list_metrics();
    if (w.empty() || w == "invariants") list_invariants();
    if (w.empty() || w == "patches") list_patches();
    if (w.empty() || w == "triage") list_triage();
    return 0;
  };
}

}  // namespace sd::cli
