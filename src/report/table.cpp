#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>

#include "report/metric_list.h"
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
  fmt::print(out, "\n Model statistics for '{}' ({}), arch {}, {} CPUs, seed {}, patches {}:\n\n",
             workload::workload_name(c), c.source, c.arch, c.cpus, c.seed, c.patch_spec);
  for (const auto& mi : scalar_metrics()) {
    const std::uint64_t v = mi.get(m);
    if (mi.name == "sim_time_ns") continue;          // printed below
    if (v == 0 && mi.name != "ipis_sent") continue;  // perf-stat style: only what happened
    if (mi.name == "cpus_interrupted") {
      const auto busiest =
          std::max_element(m.ipis_received_per_cpu.begin(), m.ipis_received_per_cpu.end());
      row(out, v, mi.name,
          fmt::format("of {}; busiest CPU {} took {}", c.cpus,
                      busiest - m.ipis_received_per_cpu.begin(), *busiest));
      continue;
    }
    row(out, v, mi.name);
  }
  for (const auto& [reason, n] : m.flushes_by_reason) row(out, n, "tlb_flush:" + reason);
  for (const auto& [name, o] : m.op_latency)
    fmt::print(out, "{:>15.3f} us  {:<26}  # mean of {}, max {:.3f} us, {:.2f} flushes each\n",
               static_cast<double>(o.total_ns) / static_cast<double>(o.count) / 1e3, name, o.count,
               static_cast<double>(o.max_ns) / 1e3,
               static_cast<double>(o.flushes) / static_cast<double>(o.count));
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
