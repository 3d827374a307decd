#include "predict/predict.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>

#include "host/host_report.h"
#include "host/tracepoints.h"
#include "predict/twins.h"
#include "program/program.h"
#include "workload/config.h"
#include "workload/run.h"

namespace sd::predict {

namespace {

using per_op = std::map<std::string, double>;

// The counts a host phase sample and a model run both have, as totals. host counts the
// flushes by reason, and the cross-calls unless `csd_machine_wide`, per process: the model's
// twin of those counts only what fires while a task of the workload is current (idle CPUs'
// flushes and everything after a task begins to exit are outside them).
per_op model_totals(const kern::metrics& m, bool csd_machine_wide) {
  per_op t;
  for (const auto& [k, v] : m.flushes_by_reason_in_task)
    t["flushes_by_reason." + k] = static_cast<double>(v);
  t["tlb_interrupts"] = static_cast<double>(m.tlb_irqs);
  t["csd_queued.flush_tlb_func"] =
      static_cast<double>(csd_machine_wide ? m.csd_queued_flush : m.csd_queued_flush_in_task);
  t["csd_queued.tlb_remove_table_smp_sync"] =
      static_cast<double>(csd_machine_wide ? m.csd_queued_sync : m.csd_queued_sync_in_task);
  t["call_function_interrupts"] = static_cast<double>(std::accumulate(
      m.ipis_received_per_cpu.begin(), m.ipis_received_per_cpu.end(), std::uint64_t{0}));
  return t;
}

// The measured operations in the twins' terms: a twin's other CPUs run as many rounds as
// CPU 0 (predict/twins.cpp), so where other threads looped beside the measured one at their
// own pace, the process's counts are per round of every thread.
double rounds_of(const host::phase_sample& s) {
  return static_cast<double>(s.ops + s.peer_ops) / static_cast<double>(1 + s.peers);
}

// Per-op medians over the repeats of what host could measure.
per_op measured_per_op(const host::host_result& r, const host::phase_result& p,
                       const std::set<std::string>& names) {
  // A count by key ("flushes_by_reason.task_switch"), 0 when the key was not seen.
  auto keyed = [](const std::map<std::string, std::uint64_t>& m, const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? 0.0 : static_cast<double>(it->second);
  };
  const std::string reason = "flushes_by_reason.", csd = "csd_queued.";
  per_op out;
  for (const auto& name : names) {
    std::vector<double> v;
    for (const auto& s : p.repeats) {
      if (!s.ops) continue;
      double total = 0;
      if (name.rfind(reason, 0) == 0) {
        if (!r.have_tracepoint) break;
        total = keyed(s.flushes_by_reason, name.substr(reason.size()));
      } else if (name.rfind(csd, 0) == 0) {
        if (!r.have_csd_tracepoint) break;
        // Where the process's counters missed calls, the machine-wide count stands in.
        total = keyed(p.csd_queued_missing.empty() ? s.csd_queued : s.csd_queued_all,
                      name.substr(csd.size()));
      } else if (name == "tlb_interrupts" || name == "call_function_interrupts") {
        if (!r.have_interrupts) break;
        const auto& per_cpu = name == "tlb_interrupts" ? s.tlb_ipis_per_cpu : s.cal_ipis_per_cpu;
        total =
            static_cast<double>(std::accumulate(per_cpu.begin(), per_cpu.end(), std::uint64_t{0}));
      }
      v.push_back(total / rounds_of(s));
    }
    if (!v.empty()) out[name] = host::spread_of(v).median;
  }
  return out;
}

// The scheduler's cross-CPU calls queued machine-wide per op (median over the repeats), or
// none when the host did not count them (host/tracepoints.h scheduler_csd_callbacks).
std::optional<double> scheduler_calls_per_op(const host::phase_result& p) {
  std::vector<double> v;
  for (const auto& s : p.repeats) {
    if (!s.ops) continue;
    std::uint64_t n = 0;
    bool counted = false;
    for (const auto& name : host::scheduler_csd_callbacks())
      if (const auto it = s.csd_queued_all.find(name); it != s.csd_queued_all.end()) {
        n += it->second;
        counted = true;
      }
    if (!counted) return std::nullopt;
    v.push_back(static_cast<double>(n) / rounds_of(s));
  }
  if (v.empty()) return std::nullopt;
  return host::spread_of(v).median;
}

// One of the host process's own events per op (median over the repeats: "write_protect"
// faults, "switch_out" context switches), or none when the host did not count it
// (host/tracepoints.h open_task_events: `counted`).
std::optional<double> task_events_per_op(bool counted, const host::phase_result& p,
                                         const std::string& key) {
  if (!counted) return std::nullopt;
  std::vector<double> v;
  for (const auto& s : p.repeats) {
    if (!s.ops) continue;
    const auto it = s.task_events.find(key);
    v.push_back(static_cast<double>(it == s.task_events.end() ? 0 : it->second) / rounds_of(s));
  }
  if (v.empty()) return std::nullopt;
  return host::spread_of(v).median;
}

// What the host's write-protect count counts in a model run: every write fault on a present
// PTE (kernel/fault.cpp), whether it copied, reused or found the PTE already writable.
double write_protect_faults(const kern::metrics& m) {
  return static_cast<double>(m.wp_copy_faults + m.wp_reuse_faults + m.spurious_faults);
}

// The flushes a copy-on-write copy's ptep_clear_flush traces (arch/x86/mm/tlb.c
// flush_tlb_mm_range): a local one where the mm is loaded, a remote send where another CPU is
// in its mm_cpumask.
bool cow_copy_traces(const std::string& name) {
  return name == "flushes_by_reason.local_mm_shootdown" ||
         name == "flushes_by_reason.remote_send_ipi";
}

// A row whose difference no rule has explained yet (a range-giving twin's rows are left to
// the range).
bool open_difference(const count_row& r) {
  return r.equal && !*r.equal && r.explained.empty() && !r.model_bound;
}

count_row* find_row(std::vector<count_row>& rows, const std::string& name) {
  for (auto& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

// Two CPUs of a KVM guest flushing at once: whether one's flush IPI reaches the other
// before that CPU's own local flush decides the reason its flush is counted under (the PV
// send-IPI posts it ipi_post_lead before the sender's hypercall returns, docs/model.md). The
// model's threads run their rounds in step and count them as remote_shootdown; the host's
// drift in and out of step, and in a round where the IPI came late, or was not sent because
// its target had left the mm, that CPU flushes itself (local_mm_shootdown). Marks the rows
// not yet equal or explained when local and remote_shootdown lie on opposite sides of the
// model and add up to the model's, within the tolerance of two rows. Seen on the
// Firecracker KVM guest in tlb-flush-threads all-cpus, per round: 0.03 local and 1.99
// remote; 0.30 and 1.72; 0.35 and 1.72; 0.61 and 1.41 (the model: 0 and 2).
bool flushed_under_the_other_reason(std::vector<count_row>& rows) {
  count_row* local = find_row(rows, "flushes_by_reason.local_mm_shootdown");
  count_row* remote = find_row(rows, "flushes_by_reason.remote_shootdown");
  if (!local || !remote || !local->measured || !remote->measured) return false;
  const double l = *local->measured - local->model, r = *remote->measured - remote->model;
  const double model = local->model + remote->model;
  if (!(open_difference(*local) || open_difference(*remote)) ||
      !((l > 0 && r < 0) || (l < 0 && r > 0)) ||
      std::fabs(l + r) > 2 * std::max(k_abs_tolerance, k_rel_tolerance * model))
    return false;
  for (count_row* row : {local, remote})
    if (open_difference(*row)) row->explained = "the same flushes under the other reason";
  return true;
}

// A phase whose other threads do not loop beside the measured one: the other CPUs the twin's
// flushes IPI stay in mm_cpumask all phase long, holding the mm lazily (the host visited every
// CPU before the phase, and the twin's do the same: twins.cpp lazy_cpus) or running a sibling
// thread that spins in user mode. On the host another task that runs on such a CPU switches
// it to its own mm and clears its bit (switch_mm_irqs_off), and the flushes meanwhile send
// it nothing (arch/x86/mm/tlb.c flush_tlb_mm_range traces remote_send_ipi only when another
// CPU is in mm_cpumask); the twin's CPUs run nothing else. How often that happens depends on
// the machine's other tasks, so only the direction is given: below the model, never above.
// Seen on the Firecracker KVM guest: 0.06 and 0.56 sends per op instead of 1 in
// tlb-flush-threads one-thread, 0.745 in munmap-free-tables with-siblings. The counts each
// sent flush IPI adds on its target (ipi_delivered) then follow the sends: the model's count
// times measured / model sends, within the tolerance. Returns whether the sends row was
// explained.
bool cpus_left_the_mm(std::vector<count_row>& rows) {
  count_row* sent = find_row(rows, "flushes_by_reason.remote_send_ipi");
  if (!sent || !open_difference(*sent) || !(sent->model > 0 && *sent->measured < sent->model))
    return false;
  sent->explained = "CPUs left the mm";
  const double ratio = *sent->measured / sent->model;
  for (auto& r : rows) {
    if (!ipi_delivered(r.name) || !open_difference(r)) continue;
    const double expected = r.model * ratio;
    if (std::fabs(*r.measured - expected) <= std::max(k_abs_tolerance, k_rel_tolerance * expected))
      r.explained = "follows the flush IPIs sent";
  }
  return true;
}

// How a hypercall flush moves a count from what the model's IPI backend says: no flush IPI
// arrives (the interrupt lines, the flush calls queued, remote_shootdown, the PV skip read
// fewer), and a lazy CPU, never IPI'd, never leaves the mm, so flush_tlb_multi still finds it
// in mm_cpumask (remote_send_ipi reads more). 0: the backend does not explain a difference.
int hypercall_flush_moves(const std::string& name) {
  static const std::map<std::string, int> k{{"tlb_interrupts", -1},
                                            {"call_function_interrupts", -1},
                                            {"csd_queued.flush_tlb_func", -1},
                                            {"flushes_by_reason.remote_shootdown", -1},
                                            {"flushes_by_reason.kvm_preempted_skip", -1},
                                            {"flushes_by_reason.remote_send_ipi", +1}};
  const auto it = k.find(name);
  return it == k.end() ? 0 : it->second;
}

std::string number(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : fmt::format("{:.3f}", v);
}

// One twin, or one per repeat replaying what the host recorded in it; none (with `why`)
// when any of them cannot be built.
std::vector<twin> twins_of(const host::host_result& measured, const host::phase_result& ph,
                           const machine_guess& m, std::string& why) {
  std::vector<const host::phase_sample*> samples{nullptr};
  if (replays_host_order(measured.scenario, ph.name)) {
    samples.clear();
    for (const auto& s : ph.repeats)
      if (s.ops) samples.push_back(&s);
  }
  std::vector<twin> tws;
  for (const auto* s : samples) {
    auto tw = twin_of(measured.scenario, ph.name, m.cpus, measured.params, why, s);
    if (!tw) return {};
    tws.push_back(std::move(*tw));
  }
  return tws;
}

// Per twin pair: the model's counts without and with the measured operations.
struct twin_run {
  per_op a, b;
  unsigned ops;
  double wp, switches;          // per op
  std::optional<per_op> bound;  // with_bound's counts
};

twin_run run_pair(const twin& tw, const machine_guess& m, bool csd_machine_wide) {
  const kern::metrics without = run_twin(tw.without, m).stats;
  const kern::metrics with = run_twin(tw.with, m).stats;
  twin_run r{model_totals(without, csd_machine_wide),
             model_totals(with, csd_machine_wide),
             tw.ops,
             (write_protect_faults(with) - write_protect_faults(without)) / tw.ops,
             static_cast<double>(with.switches_out_in_task - without.switches_out_in_task) / tw.ops,
             std::nullopt};
  if (!tw.with_bound.empty())
    r.bound = model_totals(run_twin(tw.with_bound, m).stats, csd_machine_wide);
  return r;
}

}  // namespace

bool ipi_delivered(const std::string& name) {
  return name == "csd_queued.flush_tlb_func" || name == "tlb_interrupts" ||
         name == "call_function_interrupts" || name == "flushes_by_reason.remote_shootdown";
}

prediction predict(const host::host_result& measured, const machine_guess& m) {
  prediction p;
  p.machine = m;
  for (const auto& ph : measured.phases) {
    phase_prediction pp;
    pp.phase = ph.name;
    std::string why;
    const std::vector<twin> tws = twins_of(measured, ph, m, why);
    if (tws.empty()) {
      pp.no_twin = why.empty() ? "the phase measured nothing for its twin to replay" : why;
      p.phases.push_back(std::move(pp));
      continue;
    }
    pp.differs = tws.front().differs;
    pp.twins = static_cast<unsigned>(tws.size());
    const bool csd_machine_wide = !ph.csd_queued_missing.empty();  // see measured_per_op
    std::vector<twin_run> runs;
    for (const auto& tw : tws) {
      runs.push_back(run_pair(tw, m, csd_machine_wide));
      pp.ops += tw.ops;
    }
    // The median over the twin pairs of a per-op value.
    auto median_of = [&](const std::function<double(const twin_run&)>& f) {
      std::vector<double> v;
      for (const auto& r : runs) v.push_back(f(r));
      return host::spread_of(v).median;
    };
    std::set<std::string> names;  // sorted, each once
    for (const auto& r : runs) {
      for (const auto& [k, v] : r.b) names.insert(k);
      for (const auto& [k, v] : r.a) names.insert(k);
    }
    if (measured.have_tracepoint)
      for (const auto& s : ph.repeats)
        for (const auto& [k, v] : s.flushes_by_reason) names.insert("flushes_by_reason." + k);
    const per_op meas = measured_per_op(measured, ph, names);
    if (!ph.csd_queued_missing.empty())
      pp.notes.push_back("csd_queued measured machine-wide (any task) in this phase: " +
                         ph.csd_queued_missing);
    // Other threads of the process loop beside the measured one (tlb-flush-threads all-cpus).
    const bool peers = !ph.repeats.empty() && ph.repeats[0].peers;
    if (peers)
      pp.notes.push_back(fmt::format(
          "measured counts are per round of every thread (the twin's other CPUs run as many "
          "rounds as CPU 0): {} ops of the measured thread and {} of its {} other threads in "
          "the first repeat",
          ph.repeats[0].ops, ph.repeats[0].peer_ops, ph.repeats[0].peers));
    // The IPI columns are machine-wide: what the idle window before the phase saw, scaled to
    // one operation, is allowed on top of the tolerance (issue 9 item 12).
    auto background_per_op = [&](const std::string& name) {
      if (name == "tlb_interrupts") return host::background_per_op(ph, ph.background.tlb_ipis);
      if (name == "call_function_interrupts")
        return host::background_per_op(ph, ph.background.cal_ipis);
      return 0.0;
    };
    auto per_op_of = [](const per_op& with, const per_op& without, const std::string& name,
                        unsigned ops) {
      const double hv = with.count(name) ? with.at(name) : 0;
      const double lv = without.count(name) ? without.at(name) : 0;
      return (hv - lv) / ops;
    };
    auto model_of = [&](const std::string& name) {
      return median_of([&](const twin_run& r) { return per_op_of(r.b, r.a, name, r.ops); });
    };
    // The medians of the ends bound the median of values that lie between them.
    auto model_bound_of = [&](const std::string& name) -> std::optional<double> {
      if (!runs.front().bound) return std::nullopt;
      return median_of([&](const twin_run& r) { return per_op_of(*r.bound, r.a, name, r.ops); });
    };
    // The call-function line also counts other cross-calls (the page-table-free syncs): a
    // hypercall flush removes at most the model's flush calls from it.
    const double flush_calls = model_of("csd_queued.flush_tlb_func");
    const std::optional<double> scheduler_calls = scheduler_calls_per_op(ph);
    bool scheduler_explained = false;
    // Write-protect faults the process took beyond the twin's: its own pages' copy-on-write
    // copies (stack, the measuring code), which the twin's processes do not write.
    const std::optional<double> host_wp =
        task_events_per_op(measured.have_fault_tracepoint, ph, "write_protect");
    const double model_wp = median_of([](const twin_run& r) { return r.wp; });
    std::vector<std::string> cow_explained;
    // Context switches away from the process's tasks beyond the twin's: the host scheduler
    // preempting and blocking them where the twin runs each to its next wait.
    const std::optional<double> host_switches =
        task_events_per_op(measured.have_switch_tracepoint, ph, "switch_out");
    const double model_switches = median_of([](const twin_run& r) { return r.switches; });
    bool switches_explained = false;
    std::vector<std::string> away_explained;
    bool ipis_missing = false;
    std::vector<std::string> explained;  // rows whose difference the backend explains
    for (const auto& name : names) {
      count_row row;
      row.name = name;
      row.model = model_of(name);
      row.model_bound = model_bound_of(name);
      if (row.model_bound && *row.model_bound == row.model) row.model_bound.reset();
      if (meas.count(name)) {
        row.measured = meas.at(name);
        const double lo = std::min(row.model, row.model_bound.value_or(row.model));
        const double hi = std::max(row.model, row.model_bound.value_or(row.model));
        const double slack =
            std::max(k_abs_tolerance, k_rel_tolerance * std::fabs(hi)) + background_per_op(name);
        row.equal = *row.measured >= lo - slack && *row.measured <= hi + slack;
      }
      // A reason neither side saw during the operations (e.g. task switches of the setup).
      const bool reason = name.rfind("flushes_by_reason.", 0) == 0;
      if (reason && row.model == 0 && row.model_bound.value_or(0) == 0 &&
          (!row.measured || *row.measured == 0))
        continue;
      ipis_missing = ipis_missing || (name == "tlb_interrupts" && row.model > 0 && row.measured &&
                                      *row.measured == 0);
      const int moves = m.hypercall_flush ? hypercall_flush_moves(name) : 0;
      const bool within_flush_calls =
          name != "call_function_interrupts" ||
          row.model - row.measured.value_or(0) <=
              flush_calls + std::max(k_abs_tolerance, k_rel_tolerance * row.model) +
                  background_per_op(name);
      if (moves != 0 && row.equal && !*row.equal && within_flush_calls &&
          (*row.measured - row.model) * static_cast<double>(moves) > 0) {
        row.explained = "hypercall flush";
        explained.push_back(name);
      }
      // The call-function line above the model by no more than the scheduler's own cross-calls
      // queued in the window (each raises at most one such interrupt: none on a polling idle
      // target), which the model does not run.
      if (name == "call_function_interrupts" && row.equal && !*row.equal && scheduler_calls &&
          *row.measured > row.model &&
          *row.measured - row.model <= *scheduler_calls +
                                           std::max(k_abs_tolerance, k_rel_tolerance * row.model) +
                                           background_per_op(name)) {
        row.explained = "scheduler cross-calls";
        scheduler_explained = true;
      }
      // Above the model by no more than the process's write-protect faults beyond the twin's:
      // each of its own copy-on-write copies traces at most one flush of each reason.
      if (cow_copy_traces(name) && row.explained.empty() && row.equal && !*row.equal && host_wp &&
          *row.measured > row.model &&
          *row.measured - row.model <=
              *host_wp - model_wp + std::max(k_abs_tolerance, k_rel_tolerance * row.model)) {
        row.explained = "own copy-on-write";
        cow_explained.push_back(name);
      }
      // Above the model by no more than the process's switches beyond the twin's: a task-switch
      // flush its counters see is traced inside a switch away from one of its tasks (to
      // another, whose cloned perf context keeps counting), and a switch traces at most one.
      if (name == "flushes_by_reason.task_switch" && row.equal && !*row.equal && host_switches &&
          *row.measured > row.model &&
          *row.measured - row.model <= *host_switches - model_switches +
                                           std::max(k_abs_tolerance, k_rel_tolerance * row.model)) {
        row.explained = "own context switches";
        switches_explained = true;
      }
      // Below the model, in a phase whose other threads run beside the measured one, when the
      // host switched the process's tasks away more often than the twin: a thread switched
      // out for another task leaves its CPU's mm_cpumask (switch_mm_irqs_off), and flushes
      // meanwhile send it no IPI (and trace no remote_send_ipi when it was the only other
      // CPU there), which the twin's always-running threads get. How much a
      // switch costs depends on how long the thread stays out, so the shortfall has no bound.
      if ((ipi_delivered(name) || name == "flushes_by_reason.remote_send_ipi") && peers &&
          row.explained.empty() && row.equal && !*row.equal && *row.measured < row.model &&
          host_switches && *host_switches > model_switches) {
        row.explained = "threads switched out";
        away_explained.push_back(name);
      }
      pp.rows.push_back(row);
    }
    if (!peers && !m.hypercall_flush && cpus_left_the_mm(pp.rows))
      pp.notes.push_back(
          "explained: fewer flush IPIs were sent than the model's (remote_send_ipi): the twin's "
          "other CPUs stay in the mm's cpumask all phase long (holding it lazily, or running a "
          "spinning sibling thread); on this machine another task that runs on such a CPU "
          "takes it out, and the flushes then send it nothing. The counts each sent IPI adds "
          "on its target are marked where they follow the sends");
    if (m.arch == "x86-kvm" && !m.hypercall_flush && flushed_under_the_other_reason(pp.rows))
      pp.notes.push_back(
          "explained: local_mm_shootdown and remote_shootdown add up to the model's: the same "
          "flushes under the other reason. Of two vCPUs flushing at once, each takes the "
          "other's flush IPI first when the PV send-IPI hypercall posted it before its own "
          "returned, and its local flush then finds nothing to do; in a round where the IPI "
          "came later, or was not sent, it flushes itself. The model's threads run in step");
    if (!away_explained.empty())
      pp.notes.push_back(fmt::format(
          "explained: the process's tasks were switched away from {} times per op "
          "(sched:sched_switch) where the twin's are {}: while a thread is switched out for "
          "another task its CPU is not in the mm's cpumask and the flushes send it no IPI, "
          "which the twin's threads, never switched out, get; below the model: {}",
          number(*host_switches), number(model_switches), fmt::join(away_explained, ", ")));
    if (!explained.empty())
      pp.notes.push_back(
          "explained: the hypervisor flushes remote TLBs without IPIs (the flush backend "
          "above), which the model does not have: " +
          fmt::format("{}", fmt::join(explained, ", ")));
    if (scheduler_explained)
      pp.notes.push_back(fmt::format(
          "explained: call_function_interrupts also counts the scheduler's cross-CPU calls "
          "(remote wake-ups, sched_ttwu_pending; idle-balance kicks, nohz_csd_func), {} per op "
          "queued on this machine during the phase, which the model does not run",
          number(*scheduler_calls)));
    if (!cow_explained.empty())
      pp.notes.push_back(fmt::format(
          "explained: the process took {} write-protect faults per op (exceptions:page_fault_*) "
          "where the twin takes {}: copy-on-write copies of its own pages (stack, the measuring "
          "code), each a flush (do_wp_page, ptep_clear_flush), which cover: {}",
          number(*host_wp), number(model_wp), fmt::join(cow_explained, ", ")));
    if (switches_explained)
      pp.notes.push_back(fmt::format(
          "explained: the process's tasks were switched away from {} times per op "
          "(sched:sched_switch) where the twin's are {}: the host scheduler preempts and blocks "
          "them where the twin runs each to its next wait, and a switch from one of its tasks "
          "to another traces a task-switch flush its counters see (perf keeps their cloned "
          "contexts counting across it), which covers: flushes_by_reason.task_switch",
          number(*host_switches), number(model_switches)));
    if (ipis_missing && m.arch == "x86-kvm" && !m.hypercall_flush)
      pp.notes.push_back(
          "no TLB-shootdown interrupt arrived although the model's PV flush IPIs running "
          "vCPUs: this guest's hypervisor flushes remote TLBs itself (a hypercall flush, as PVM "
          "and Hyper-V do), which the model does not have; the sync calls are counted apart "
          "(csd_queued.tlb_remove_table_smp_sync) and compare exactly");
    p.phases.push_back(std::move(pp));
  }
  return p;
}

void print_prediction(std::ostream& out, const prediction& p) {
  fmt::print(out, "\n model of this machine: {}, {} CPUs, kernel {}, patches {}\n", p.machine.arch,
             p.machine.cpus, p.machine.kernel_release, p.machine.patches);
  for (const auto& w : p.machine.why) fmt::print(out, "   {}\n", w);
  fmt::print(out,
             " per operation; the model's count is the difference between two twin programs "
             "that differ by N measured operations, divided by N; equal = within {} or "
             "{:.0f}%, plus for the interrupt counts what the idle window before the phase "
             "saw per op\n",
             k_abs_tolerance, k_rel_tolerance * 100);
  for (const auto& ph : p.phases) {
    fmt::print(out, "\n phase {}\n", ph.phase);
    if (!ph.no_twin.empty()) {
      fmt::print(out, "   no prediction: {}\n", ph.no_twin);
      continue;
    }
    if (ph.twins > 1)
      fmt::print(out,
                 "   model: median over {} twin pairs, one per repeat replaying what the host "
                 "recorded in it ({} operations in all)\n",
                 ph.twins, ph.ops);
    else
      fmt::print(out, "   model: difference over {} operations\n", ph.ops);
    if (!ph.differs.empty()) fmt::print(out, "   twin differs: {}\n", ph.differs);
    for (const auto& n : ph.notes) fmt::print(out, "   note: {}\n", n);
    fmt::print(out, "   {:<40} {:>12} {:>12}  {}\n", "count per op", "measured", "model", "equal");
    for (const auto& r : ph.rows)
      fmt::print(out, "   {:<40} {:>12} {:>12}  {}\n", r.name,
                 r.measured ? number(*r.measured) : "unavailable",
                 r.model_bound ? number(std::min(r.model, *r.model_bound)) + "-" +
                                     number(std::max(r.model, *r.model_bound))
                               : number(r.model),
                 !r.equal              ? "-"
                 : *r.equal            ? "yes"
                 : r.explained.empty() ? "NO"
                                       : "no (explained: " + r.explained + ")");
  }
}

void add_to_json(nlohmann::ordered_json& j, const prediction& p) {
  j["model"] = {{"arch", p.machine.arch},
                {"cpus", p.machine.cpus},
                {"kernel", p.machine.kernel_release},
                {"patches", p.machine.patches},
                {"why", p.machine.why},
                {"tolerance", {{"absolute", k_abs_tolerance}, {"relative", k_rel_tolerance}}}};
  for (auto& phase : j["phases"]) {
    const auto it = std::find_if(p.phases.begin(), p.phases.end(), [&](const phase_prediction& x) {
      return x.phase == phase["name"].get<std::string>();
    });
    if (it == p.phases.end()) continue;
    nlohmann::ordered_json pred = nlohmann::ordered_json::object();
    if (!it->no_twin.empty()) {
      phase["predict_unavailable"] = it->no_twin;
      continue;
    }
    for (const auto& r : it->rows) {
      nlohmann::ordered_json c;
      c["measured"] = r.measured ? nlohmann::ordered_json(*r.measured) : nlohmann::ordered_json();
      c["model"] = r.model;
      if (r.model_bound)
        c["model_range"] = {std::min(r.model, *r.model_bound), std::max(r.model, *r.model_bound)};
      c["equal"] = r.equal ? nlohmann::ordered_json(*r.equal) : nlohmann::ordered_json();
      if (!r.explained.empty()) c["explained"] = r.explained;
      pred[r.name] = c;
    }
    phase["predict"] = pred;
    phase["predict_ops"] = it->ops;
    if (it->twins > 1) phase["predict_twins"] = it->twins;
    if (!it->differs.empty()) phase["predict_twin_differs"] = it->differs;
    if (!it->notes.empty()) phase["predict_notes"] = it->notes;
  }
}

}  // namespace sd::predict
