// What a run measured. Names match `shootdown host` where they mean the same thing.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/time.h"

namespace sd::kern {

// Flushes by the reason the kernel traces; looked up by name without a temporary string.
using flush_counts = std::map<std::string, std::uint64_t, std::less<>>;

struct metrics {
  std::uint64_t ipis_sent = 0;                       // physical IPIs (APIC writes / SGIs)
  std::vector<std::uint64_t> ipis_received_per_cpu;  // IPI interrupts taken per CPU
  std::uint64_t flush_ipis = 0;                      // IPIs sent by TLB-flush paths
  std::uint64_t tlb_irqs = 0;   // x86 irq_tlb_count: remote flush_tlb_func runs (/proc TLB line)
  std::uint64_t sync_ipis = 0;  // IPIs sent by tlb_remove_table_sync_*
  // Cross-CPU calls queued on another CPU (csd:csd_queue_cpu), IPI or not, by callback:
  // flush_tlb_func and tlb_remove_table_smp_sync (host::csd_callbacks). host --predict only.
  std::uint64_t csd_queued_flush = 0;
  std::uint64_t csd_queued_sync = 0;
  // The same, and the flushes by reason, counted only while a task of the workload was
  // current on the CPU that traced them (hw::cpu::perf_task): what host's per-process
  // counters can see. host --predict only.
  std::uint64_t csd_queued_flush_in_task = 0;
  std::uint64_t csd_queued_sync_in_task = 0;
  flush_counts flushes_by_reason_in_task;
  // Context switches away from a task of the workload (sched:sched_switch in its context;
  // not an exiting task's last one): what host counts as switches_out. host --predict only.
  std::uint64_t switches_out_in_task = 0;
  std::uint64_t idle_polled_wakeups = 0;  // calls to a polling idle CPU that needed no IPI
  std::uint64_t sync_broadcasts = 0;      // tlb_remove_table_sync_one calls that IPI'd
  std::uint64_t sync_skipped = 0;         // calls that returned early: the flush implied the IPIs
  std::uint64_t tlbi_broadcasts = 0;      // broadcast TLBI instructions (arm64)
  std::uint64_t flush_requests = 0;       // TLB flush calls (flush_tlb_mm_range / TLBI sequences)
  std::vector<std::uint64_t> flush_requests_per_cpu;  // by initiating CPU
  std::uint64_t dsb_waits = 0;                        // DSB ISH completions waited for (arm64)
  flush_counts flushes_by_reason;
  sim::sim_time flush_ns = 0;  // time initiators spent in TLB-flush calls
  std::uint64_t rcu_grace_periods = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t page_faults = 0;
  std::uint64_t pages_freed = 0;
  std::uint64_t tables_freed = 0;
  std::uint64_t gup_fast_pages = 0;
  std::uint64_t gup_fast_short = 0;     // GUP-fast calls that stopped early (slow path not modeled)
  std::uint64_t wp_reuse_faults = 0;    // write faults that reused the page (wp_page_reuse)
  std::uint64_t wp_copy_faults = 0;     // write faults that copied it (wp_page_copy)
  std::uint64_t spurious_faults = 0;    // faults whose PTE already allowed the access
  std::uint64_t pmd_tables_shared = 0;  // huge_pmd_share adopted another VMA's PMD table
  std::uint64_t pmd_tables_unshared = 0;  // huge_pmd_unshare dropped a share
  std::uint64_t collapses = 0;            // khugepaged collapses completed
  std::uint64_t collapses_failed = 0;     // abandoned (e.g. a pinned page)
  std::uint64_t pages_moved = 0;          // UFFDIO_MOVE
  std::uint64_t ipis_to_isolated = 0;     // IPIs taken by nohz_full CPUs
  sim::sim_time isolated_irq_ns = 0;      // time nohz_full CPUs spent in IPI handlers
  // Latency of named workload operations (e.g. "mprotect_rw", "fork_exit").
  struct op_stat {
    std::uint64_t count = 0;
    sim::sim_time total_ns = 0;
    sim::sim_time max_ns = 0;
    std::uint64_t flushes = 0;           // flush_requests the operation's CPU made while it ran
    std::vector<sim::sim_time> samples;  // every latency, for percentiles
    // Nearest-rank percentile (p in (0, 100]) of the samples.
    sim::sim_time percentile(double p) const {
      if (samples.empty()) return 0;
      std::vector<sim::sim_time> s = samples;
      const auto rank = static_cast<std::size_t>(
          std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(s.size()))));
      std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(rank - 1), s.end());
      return s[rank - 1];
    }
  };
  std::map<std::string, op_stat> op_latency;
  void record_op(const std::string& name, sim::sim_time ns, std::uint64_t flushes) {
    op_stat& s = op_latency[name];
    s.flushes += flushes;
    ++s.count;
    s.total_ns += ns;
    s.max_ns = std::max(s.max_ns, ns);
    s.samples.push_back(ns);
  }
  // Per nohz_full CPU, what rtla osnoise shows as IRQ noise: the IPIs it took, the time spent
  // in them (total and longest), and the cross-CPU calls they ran, by kind.
  struct isolated_noise {
    std::uint64_t irqs = 0;
    sim::sim_time total_ns = 0;
    sim::sim_time max_ns = 0;
    std::uint64_t flush_calls = 0;  // flush_tlb_func
    std::uint64_t sync_calls = 0;   // tlb_remove_table_smp_sync
    std::uint64_t other_calls = 0;
  };
  std::map<unsigned, isolated_noise> noise_per_isolated_cpu;
  sim::sim_time sim_time_ns = 0;  // when the last workload thread finished

  std::uint64_t cpus_interrupted() const {
    std::uint64_t n = 0;
    for (auto r : ipis_received_per_cpu) n += r ? 1 : 0;
    return n;
  }
};

}  // namespace sd::kern
