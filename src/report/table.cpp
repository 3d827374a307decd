#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>

#include "report/report.h"

namespace sd::report {

namespace {
void row(std::ostream& out, std::uint64_t v, std::string_view name, std::string_view note = "") {
  fmt::print(out, "{:>18}  {:<26}{}\n", v, name, note.empty() ? "" : fmt::format("  # {}", note));
}
}  // namespace

void print_table(std::ostream& out, const workload::run_result& r) {
  const auto& c = r.cfg;
  const auto& m = r.stats;
  fmt::print(out, "\n Model statistics for '{}' ({}), arch {}, {} CPUs, seed {}:\n\n", c.scenario,
             c.source, c.arch, c.cpus, c.seed);
  row(out, m.ipis_sent, "ipis_sent");
  const auto busiest =
      std::max_element(m.ipis_received_per_cpu.begin(), m.ipis_received_per_cpu.end());
  row(out, m.cpus_interrupted(), "cpus_interrupted",
      fmt::format("of {}; busiest CPU {} took {}", c.cpus,
                  busiest - m.ipis_received_per_cpu.begin(), *busiest));
  row(out, m.flush_ipis, "flush_ipis");
  row(out, m.sync_ipis, "sync_ipis", fmt::format("{} sync broadcasts", m.sync_broadcasts));
  row(out, m.tlbi_broadcasts, "tlbi_broadcasts", fmt::format("{} DSB waits", m.dsb_waits));
  for (const auto& [reason, n] : m.flushes_by_reason) row(out, n, "tlb_flush:" + reason);
  row(out, m.rcu_grace_periods, "rcu_grace_periods");
  row(out, m.tables_freed, "tables_freed");
  row(out, m.pages_freed, "pages_freed");
  row(out, m.page_faults, "page_faults");
  row(out, m.gup_fast_pages, "gup_fast_pages",
      fmt::format("{} calls stopped short", m.gup_fast_short));
  row(out, m.ops_completed, "ops_completed");
  fmt::print(out, "\n {:>17.3f} ms simulated time   ({} model steps)\n",
             static_cast<double>(m.sim_time_ns) / 1e6, r.model_steps);
  if (r.ok()) {
    fmt::print(out, "\n invariants: all held\n");
    return;
  }
  fmt::print(out, "\n INVARIANT VIOLATIONS: {}\n", r.violations_total);
  for (const auto& v : r.violations)
    fmt::print(out, "  [{}] t={}ns cpus {} {}: {} ({})\n", check::invariant_name(v.inv), v.at,
               fmt::join(v.cpus, ","), v.object, v.detail, v.step);
  if (r.violations_total > r.violations.size())
    fmt::print(out, "  ... {} more\n", r.violations_total - r.violations.size());
}

}  // namespace sd::report
