#include "host/host_run.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>

#include "host/host_params.h"
#include "host/hugetlb.h"
#include "host/interrupts.h"
#include "host/measure.h"
#include "host/phases.h"
#include "host/text_file.h"
#include "host/tracepoints.h"

namespace sd::host {

namespace {

extern "C" void on_signal(int sig) {
  note_signal(sig);
}

}  // namespace

const std::vector<host_scenario_info>& host_scenarios() {
  static const std::vector<host_scenario_info> k = [] {
    std::vector<host_scenario_info> v;
    for (const auto& s : scenarios()) v.push_back(s.info);
    return v;
  }();
  return k;
}

bool measured_anything(const host_result& r) {
  for (const auto& p : r.phases)
    if (!p.repeats.empty()) return true;
  return false;
}

// The machine-wide count: the process's callbacks and the scheduler's.
const std::vector<std::string>& machine_csd_callbacks() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> v = csd_callbacks();
    v.insert(v.end(), scheduler_csd_callbacks().begin(), scheduler_csd_callbacks().end());
    return v;
  }();
  return k;
}

// The per-process csd counters miss calls that children queue while they exit: on 6.18.44
// the hugetlb children's unshare syncs (tlb_remove_table_smp_sync, queued from
// __unmap_hugepage_range in their exit_mmap) are traced system-wide, one per serial child,
// while the counters the children inherited count none: kernel/exit.c do_exit hands a
// task's inherited counters to its parent (perf_event_exit_task) before exit_mm. The model
// says which of its counts those counters see (hw::cpu::perf_task). The every-task count of the
// same window tells: above ours by more than other activity adds (the rate the idle window before
// the phase saw, over the repeat's time, plus 2; a tenth of the ops when there was no idle window)
// means ours is not the workload's count.
std::string csd_calls_unseen(const phase_result& p) {
  for (const auto& s : p.repeats)
    for (const auto& [name, all] : s.csd_queued_all) {
      if (std::find(csd_callbacks().begin(), csd_callbacks().end(), name) == csd_callbacks().end())
        continue;  // the scheduler's calls: counted machine-wide only
      const auto it = s.csd_queued.find(name);
      const std::uint64_t ours = it == s.csd_queued.end() ? 0 : it->second;
      double others = static_cast<double>(s.ops) / 10;
      if (p.background.seconds > 0) {
        const auto bg = p.background.csd_queued_all.find(name);
        const double rate = bg == p.background.csd_queued_all.end()
                                ? 0
                                : static_cast<double>(bg->second) / p.background.seconds;
        others = rate * s.ns_per_op * static_cast<double>(s.ops) * 1e-9;
      }
      if (static_cast<double>(all) > static_cast<double>(ours) + 2 + others)
        return "the process's counters saw " + std::to_string(ours) + " of the " +
               std::to_string(all) + " " + name +
               " calls queued on this machine during a repeat: the rest were queued where "
               "per-process counting does not reach (children's exits)";
    }
  return "";
}

host_result run_host(const host_options& o) {
  const scenario_def* def = nullptr;
  for (const auto& s : scenarios())
    if (o.scenario == s.info.name) def = &s;
  if (!def) {
    std::string known;
    for (const auto& s : scenarios())
      known += (known.empty() ? "" : ", ") + std::string(s.info.name);
    throw std::invalid_argument("host scenario '" + o.scenario +
                                "' is not available (available: " + known + ")");
  }
  host_result r;
  r.scenario = o.scenario;
  r.params = resolve_host_params(o.scenario, o.sets);  // before anything is changed or run
  r.cpus = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  r.iterations = o.iterations ? o.iterations : def->info.default_iterations;
  r.repeat = o.repeat;

  std::string why;
  if (auto note = restore_leftover_hugepages()) r.notes.push_back(*note);
  hugepage_reservation reservation;  // restores vm.nr_hugepages when the run ends
  if (o.reserve_hugepages && !reservation.reserve(o.reserve_hugepages, why))
    r.notes.push_back("huge pages not reserved: " + why);
  {
    interrupt_reader probe;
    r.have_interrupts = probe.ok();
    if (!r.have_interrupts) r.notes.push_back("no IPI counts: " + probe.why());
  }
  auto tp = tracepoint_counters::open_tlb_flush(why);
  r.have_tracepoint = tp != nullptr;
  if (!tp) r.notes.push_back("no flushes_by_reason: " + why);
  // The process's queued calls, and the machine's as a cross-check (csd_calls_unseen).
  std::unique_ptr<tracepoint_counters> csd, csd_all;
  if (std::string kallsyms; !read_text_file("/proc/kallsyms", kallsyms)) {
    r.notes.push_back("no csd_queued: /proc/kallsyms is unreadable");
  } else if (!(csd = tracepoint_counters::open_csd_queue(csd_callbacks(), kallsyms, why))) {
    r.notes.push_back("no csd_queued: " + why);
  } else if (!(csd_all = tracepoint_counters::open_csd_queue(machine_csd_callbacks(), kallsyms, why,
                                                             true))) {
    r.notes.push_back("csd_queued not cross-checked against the machine's count: " + why);
  }
  r.have_csd_tracepoint = csd != nullptr;
  std::string why_switches;
  auto task_events = tracepoint_counters::open_task_events(why, why_switches);
  r.have_fault_tracepoint = task_events && task_events->counts("write_protect");
  r.have_switch_tracepoint = task_events && task_events->counts("switch_out");
  if (!r.have_fault_tracepoint) r.notes.push_back("no write_protect_faults: " + why);
  if (!r.have_switch_tracepoint) r.notes.push_back("no switches_out: " + why_switches);
  cpu_set_t saved;
  sched_getaffinity(0, sizeof(saved), &saved);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  visit_every_cpu(r.cpus);
  pin_to(0);

  const context ctx{
      r.cpus,
      r.iterations,
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.timeout_s)),
      tp.get(),
      csd.get(),
      csd_all.get(),
      task_events.get(),
      r.params};
  for (const auto& ph : def->phases) {
    phase_result pr{ph.name, ph.what, {}, "", {}, ""};
    if (ph.needs_two_cpus && r.cpus < 2) {
      pr.skipped = "needs at least 2 online CPUs";
    } else {
      try {
        pr.background = measure_background(ctx);
        for (unsigned i = 0; i < o.repeat && !interrupted(); ++i) pr.repeats.push_back(ph.run(ctx));
      } catch (const phase_unavailable& e) {
        pr.repeats.clear();
        pr.skipped = e.what();
      }
    }
    pr.csd_queued_missing = csd_calls_unseen(pr);
    r.phases.push_back(std::move(pr));
  }
  sched_setaffinity(0, sizeof(saved), &saved);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (interrupted()) {
    r.interrupted_by = interrupting_signal();
    r.notes.push_back(std::string("interrupted by ") +
                      (r.interrupted_by == SIGTERM ? "SIGTERM" : "SIGINT") +
                      ": results are partial, phases marked 'not run' did not run");
  }
  for (auto& n : workload_notes()) r.notes.push_back(std::move(n));
  return r;
}

}  // namespace sd::host
