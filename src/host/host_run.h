// `shootdown host`: the scenarios run natively on this machine, measured per phase with the
// kernel's own counters. Linux only; never linked into the model.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "workload/config.h"
#include "workload/params.h"

namespace sd::host {

// hugetlb-fork-exit burst: one event of a child, in the order the clock read them.
struct child_event {
  char what;       // 'f' the parent forks it, 's' it begins touching (its first fault shares the
                   // PMD tables), 'x' it is about to exit (its exit_mmap unshares them)
  unsigned child;  // its index in the round
  unsigned cpu;    // where it ran ('s', 'x'; the parent's, 'f')
};

struct phase_sample {
  double ns_per_op = 0;
  std::uint64_t ops = 0;
  std::vector<std::uint64_t> tlb_ipis_per_cpu;             // /proc/interrupts TLB deltas
  std::vector<std::uint64_t> cal_ipis_per_cpu;             // /proc/interrupts CAL deltas
  std::map<std::string, std::uint64_t> flushes_by_reason;  // tlb:tlb_flush deltas
  // csd:csd_queue_cpu deltas by callback (host::csd_callbacks()): calls queued on other CPUs
  std::map<std::string, std::uint64_t> csd_queued;
  std::map<std::string, std::uint64_t> csd_queued_all;  // the same, queued by any task
  // Deltas of this process's and its children's events (tracepoint_counters::
  // open_task_events): "write_protect" faults, "switch_out" context switches
  std::map<std::string, std::uint64_t> task_events;
  // hugetlb-fork-exit serial: what the parent's fork() itself did, counted apart (also in the
  // totals above); the rest of an op is the child's faults and exit (issue 9 item 11).
  bool has_fork_part = false;
  std::map<std::string, std::uint64_t> fork_flushes_by_reason;
  std::map<std::string, std::uint64_t> fork_csd_queued;
  // Phases whose other threads loop beside the measured one (tlb-flush-threads all-cpus):
  // how many they are and the iterations they completed in the window. The counts are the
  // process's, so per round of every thread they are (ops + peer_ops) / (1 + peers).
  unsigned peers = 0;
  std::uint64_t peer_ops = 0;
  // hugetlb-fork-exit burst: per round, its children's events in CLOCK_MONOTONIC order; which
  // exit leaves the parent the only sharer follows from it, and the model's twin replays it
  // (predict/twins.cpp burst_twin).
  std::vector<std::vector<child_event>> child_order;
};

// /proc/interrupts over a window just before a phase in which this process does nothing:
// what other activity adds to the machine-wide IPI columns (issue 9 item 12).
struct background_sample {
  double seconds = 0;  // 0: not measured
  std::uint64_t tlb_ipis = 0;
  std::uint64_t cal_ipis = 0;
  // csd:csd_queue_cpu by callback, queued by any task (khugepaged's collapses elsewhere
  // queue tlb_remove_table_smp_sync on an otherwise idle machine).
  std::map<std::string, std::uint64_t> csd_queued_all;
};

struct phase_result {
  std::string name;
  std::string what;
  std::vector<phase_sample> repeats;
  std::string skipped;  // why the phase did not run, if it did not
  background_sample background{};
  // Why csd_queued is not reported for this phase ("": it is): the machine queued more
  // such calls than the process's counters saw (host_run.cpp csd_calls_unseen).
  std::string csd_queued_missing;
};

struct host_result {
  std::string scenario;
  unsigned cpus = 0;
  std::uint64_t iterations = 0;
  unsigned repeat = 0;
  workload::param_values params;  // the scenario's sizes, --set or default (host_params.h)
  bool have_interrupts = false;
  bool have_tracepoint = false;         // tlb:tlb_flush
  bool have_csd_tracepoint = false;     // csd:csd_queue_cpu
  bool have_fault_tracepoint = false;   // exceptions:page_fault_* (write_protect_faults)
  bool have_switch_tracepoint = false;  // sched:sched_switch (switches_out)
  // What was unavailable and how to enable it, and what was learned on the way.
  std::vector<std::string> notes;
  int interrupted_by = 0;  // the signal (SIGINT, SIGTERM) that stopped the run early, or 0
  std::vector<phase_result> phases;
};

// Whether any phase measured anything (a repeat ran).
bool measured_anything(const host_result& r);

struct host_options {
  std::string scenario;
  std::uint64_t iterations = 0;  // 0: the scenario's default
  unsigned repeat = 3;
  double timeout_s = 20;                // per phase and repeat
  std::uint64_t reserve_hugepages = 0;  // as root: raise vm.nr_hugepages for the run
  std::vector<workload::setting> sets;  // --set KEY=VALUE (host/host_params.h)
};

struct host_scenario_info {
  const char* name;
  const char* summary;
  std::uint64_t default_iterations;
};
const std::vector<host_scenario_info>& host_scenarios();

// Throws std::invalid_argument for an unknown scenario.
host_result run_host(const host_options& o);

}  // namespace sd::host
