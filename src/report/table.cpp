#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "program/program.h"
#include "report/metric_list.h"
#include "report/report.h"
#include "report/text_table.h"

namespace sd::report {

namespace {

// "      value  name  # note", the value with its unit; no padding after the last word.
void row(std::ostream& out, const std::string& value, std::string_view name,
         std::string_view note = "") {
  if (note.empty())
    fmt::print(out, "{:>18}  {}\n", value, name);
  else
    fmt::print(out, "{:>18}  {:<28}  # {}\n", value, name, note);
}

void print_ops(std::ostream& out, const kern::metrics& m) {
  if (m.op_latency.empty()) return;
  fmt::print(out, "\n operation latency (simulated time; p50/p90/p99 nearest rank):\n");
  fmt::print(out, " {:<16} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12} {:>11}\n", "operation", "count",
             "mean", "p50", "p90", "p99", "max", "flushes/op");
  for (const auto& [name, o] : m.op_latency) {
    const auto n = static_cast<double>(std::max<std::uint64_t>(o.count, 1));
    fmt::print(out, " {:<16} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12} {:>11.2f}\n", name, o.count,
               human_time(static_cast<sim::sim_time>(static_cast<double>(o.total_ns) / n)),
               human_time(o.percentile(50)), human_time(o.percentile(90)),
               human_time(o.percentile(99)), human_time(o.max_ns),
               static_cast<double>(o.flushes) / n);
  }
}

// The per-CPU noise of the nohz_full CPUs in the columns of `rtla osnoise top`: only IRQ
// noise exists in the model (the IPIs it sends), so Noise = IRQ time.
void print_isolated(std::ostream& out, const workload::run_result& r) {
  const auto& iso = r.stats.noise_per_isolated_cpu;
  if (iso.empty()) return;
  fmt::print(out,
             "\n nohz_full CPUs (rtla osnoise top layout; the noise is the IPIs this model sends, "
             "over {} of runtime):\n",
             human_time(r.stats.sim_time_ns));
  fmt::print(out, " {:>5} {:>12} {:>11} {:>12} {:>6} {:>6} {:>6} {:>6}\n", "CPU", "Noise",
             "% CPU Aval", "Max Single", "IRQ", "flush", "sync", "other");
  for (const auto& [cpu, n] : iso) {
    const double avail = r.stats.sim_time_ns > 0
                             ? 100.0 * (1.0 - static_cast<double>(n.total_ns) /
                                                  static_cast<double>(r.stats.sim_time_ns))
                             : 100.0;
    fmt::print(out, " {:>5} {:>12} {:>11.5f} {:>12} {:>6} {:>6} {:>6} {:>6}\n", cpu,
               human_time(n.total_ns), avail, human_time(n.max_ns), n.irqs, n.flush_calls,
               n.sync_calls, n.other_calls);
  }
}

}  // namespace

void print_table(std::ostream& out, const workload::run_result& r) {
  const auto& c = r.cfg;
  const auto& m = r.stats;
  fmt::print(out, "\n Model statistics for '{}' ({}), arch {}, {} CPUs, seed {}, patches {}\n",
             workload::workload_name(c), c.source, c.arch, c.cpus, c.seed, c.patch_spec);
  fmt::print(out,
             " (counts are totals over all CPUs; 'shootdown list metrics' says what each is)\n\n");
  for (const auto& mi : scalar_metrics()) {
    const std::uint64_t v = mi.get(m);
    if (mi.name == "sim_time_ns") continue;          // printed below
    if (v == 0 && mi.name != "ipis_sent") continue;  // perf-stat style: only what happened
    const std::string value =
        mi.unit == metric_unit::ns ? human_time(static_cast<sim::sim_time>(v)) : std::to_string(v);
    if (mi.name == "cpus_interrupted") {
      const auto busiest =
          std::max_element(m.ipis_received_per_cpu.begin(), m.ipis_received_per_cpu.end());
      row(out, value, mi.name,
          fmt::format("of {}; busiest CPU {} took {}", c.cpus,
                      busiest - m.ipis_received_per_cpu.begin(), *busiest));
      continue;
    }
    row(out, value, mi.name);
  }
  for (const auto& [reason, n] : m.flushes_by_reason)
    row(out, std::to_string(n), "tlb_flush:" + reason);
  print_ops(out, m);
  print_isolated(out, r);
  fmt::print(out,
             "\n workload finished at {} of simulated time; last event at {} ({} model steps)\n",
             human_time(m.sim_time_ns), human_time(r.last_event_ns), r.model_steps);
  const std::string explore =
      c.program ? "'shootdown check --program " + c.program->name + "' explores them"
                : "'shootdown check' explores them on small programs ('shootdown list programs')";
  if (r.ok()) {
    fmt::print(out,
               "\n invariants: all held in this timed run, which covers only the interleaving its "
               "timing\n produced; {}\n",
               explore);
    return;
  }
  fmt::print(out, "\n INVARIANT VIOLATIONS: {} (in this timed run; {})\n", r.violations_total,
             explore);
  for (const auto& v : r.violations)
    fmt::print(out, "  [{}] at {} cpus {} {}: {} ({})\n", check::invariant_name(v.inv),
               human_time(v.at), fmt::join(v.cpus, ","), v.object, v.detail, v.step);
  if (r.violations_total > r.violations.size())
    fmt::print(out, "  ... {} more\n", r.violations_total - r.violations.size());
}

}  // namespace sd::report
