#include "report/metric_list.h"

namespace sd::report {

namespace {

using m = kern::metrics;

constexpr metric_info k_metrics[] = {
    {"ipis_sent", "physical IPIs sent (a CSD queued on a non-empty queue sends none)",
     [](const m& x) { return x.ipis_sent; }, metric_unit::count,
     "ipi:ipi_send_cpu and ipi:ipi_send_cpumask tracepoints (one per target CPU); x86: the sum of "
     "/proc/interrupts CAL over the receivers"},
    {"cpus_interrupted", "CPUs that took at least one IPI",
     [](const m& x) { return x.cpus_interrupted(); }, metric_unit::count,
     "CPUs whose /proc/interrupts CAL or TLB count rose"},
    {"flush_ipis", "IPIs sent by TLB-flush paths", [](const m& x) { return x.flush_ipis; },
     metric_unit::count, "x86: /proc/interrupts TLB line, summed over CPUs (irq_tlb_count)"},
    {"sync_ipis", "IPIs sent by tlb_remove_table_sync_one", [](const m& x) { return x.sync_ipis; },
     metric_unit::count,
     "x86: /proc/interrupts CAL minus TLB (tlb_remove_table_smp_sync cross-calls); "
     "csd:csd_queue_cpu with func tlb_remove_table_smp_sync"},
    {"sync_broadcasts", "tlb_remove_table_sync_one calls that sent IPIs",
     [](const m& x) { return x.sync_broadcasts; }, metric_unit::count,
     "calls of tlb_remove_table_sync_one that IPI (a kprobe; no tracepoint)"},
    {"sync_skipped", "sync calls skipped because the flush implied them",
     [](const m& x) { return x.sync_skipped; }, metric_unit::count,
     "none: the sync that seed 000 skips is not called"},
    {"flush_requests", "TLB flush calls (x86 flush_tlb_mm_range, arm64 TLBI sequences)",
     [](const m& x) { return x.flush_requests; }, metric_unit::count,
     "x86: flush_tlb_mm_range calls (tlb:tlb_flush reason local_mm_shootdown or remote_send_ipi, "
     "one per call); arm64: none"},
    {"tlbi_broadcasts", "broadcast TLBI instructions (arm64)",
     [](const m& x) { return x.tlbi_broadcasts; }, metric_unit::count,
     "arm64: none (TLBI ...IS instructions; no counter)"},
    {"dsb_waits", "DSB ISH completions waited for (arm64)", [](const m& x) { return x.dsb_waits; },
     metric_unit::count, "arm64: none"},
    {"flush_ns", "simulated time initiators spent in TLB-flush calls",
     [](const m& x) { return static_cast<std::uint64_t>(x.flush_ns); }, metric_unit::ns,
     "function_graph duration of flush_tlb_mm_range / flush_tlb_range"},
    {"idle_polled_wakeups",
     "cross-CPU calls to a single polling idle CPU that set its need-resched flag instead of "
     "sending an IPI (idle_poll)",
     [](const m& x) { return x.idle_polled_wakeups; }, metric_unit::count,
     "none: set_nr_if_polling sends no IPI and has no tracepoint"},
    {"ipis_to_isolated", "IPIs taken by nohz_full CPUs",
     [](const m& x) { return x.ipis_to_isolated; }, metric_unit::count,
     "/proc/interrupts CAL and TLB of the nohz_full CPUs; osnoise:irq_noise count there"},
    {"isolated_irq_ns", "time nohz_full CPUs spent in IPI handlers",
     [](const m& x) { return static_cast<std::uint64_t>(x.isolated_irq_ns); }, metric_unit::ns,
     "osnoise:irq_noise durations on the nohz_full CPUs (rtla osnoise)"},
    {"rcu_grace_periods", "RCU grace periods completed",
     [](const m& x) { return x.rcu_grace_periods; }, metric_unit::count,
     "rcu:rcu_grace_period events with \"end\""},
    {"page_faults", "page faults", [](const m& x) { return x.page_faults; }, metric_unit::count,
     "perf software event page-faults; exceptions:page_fault_user"},
    {"wp_reuse_faults", "write faults that reused the page",
     [](const m& x) { return x.wp_reuse_faults; }, metric_unit::count,
     "none (do_wp_page reusing the folio; a kprobe on wp_page_reuse)"},
    {"wp_copy_faults", "write faults that copied the page",
     [](const m& x) { return x.wp_copy_faults; }, metric_unit::count,
     "none (wp_page_copy; a kprobe)"},
    {"spurious_faults", "faults whose PTE already allowed the access",
     [](const m& x) { return x.spurious_faults; }, metric_unit::count,
     "none (a fault whose PTE already allowed the access)"},
    {"pmd_tables_shared", "hugetlb PMD tables adopted from another VMA",
     [](const m& x) { return x.pmd_tables_shared; }, metric_unit::count,
     "none (huge_pmd_share; a kprobe)"},
    {"pmd_tables_unshared", "hugetlb PMD-table shares dropped (huge_pmd_unshare)",
     [](const m& x) { return x.pmd_tables_unshared; }, metric_unit::count,
     "none (huge_pmd_unshare returning 1; a kretprobe)"},
    {"collapses", "khugepaged collapses completed", [](const m& x) { return x.collapses; },
     metric_unit::count,
     "/proc/vmstat thp_collapse_alloc (khugepaged) or MADV_COLLAPSE returning 0"},
    {"collapses_failed", "khugepaged collapses abandoned",
     [](const m& x) { return x.collapses_failed; }, metric_unit::count,
     "/proc/vmstat thp_collapse_alloc_failed (allocation failures only)"},
    {"pages_moved", "pages moved by UFFDIO_MOVE", [](const m& x) { return x.pages_moved; },
     metric_unit::count, "the count UFFDIO_MOVE returns in uffdio_move.move"},
    {"pages_freed", "data pages freed", [](const m& x) { return x.pages_freed; },
     metric_unit::count, "none direct (/proc/vmstat pgfree counts every page freed)"},
    {"tables_freed", "page-table pages freed", [](const m& x) { return x.tables_freed; },
     metric_unit::count, "none direct (PageTables in /proc/meminfo drops by 4 KiB each)"},
    {"gup_fast_pages", "pages pinned by GUP-fast", [](const m& x) { return x.gup_fast_pages; },
     metric_unit::count, "none (the pages get_user_pages_fast returns)"},
    {"gup_fast_short", "GUP-fast calls that stopped early",
     [](const m& x) { return x.gup_fast_short; }, metric_unit::count,
     "none (get_user_pages_fast returning fewer pages than asked)"},
    {"ops_completed", "workload operations completed", [](const m& x) { return x.ops_completed; },
     metric_unit::count, "the workload's own count"},
    {"sim_time_ns", "simulated time when the last workload thread finished",
     [](const m& x) { return static_cast<std::uint64_t>(x.sim_time_ns); }, metric_unit::ns,
     "wall time of the workload (host: wall_ns_per_op x ops)"},
};

}  // namespace

std::span<const metric_info> scalar_metrics() {
  return k_metrics;
}

const metric_info* find_metric(std::string_view name) {
  for (const auto& mi : k_metrics)
    if (mi.name == name) return &mi;
  return nullptr;
}

}  // namespace sd::report
