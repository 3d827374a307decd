#include "report/metric_list.h"

namespace sd::report {

namespace {

using m = kern::metrics;

constexpr metric_info k_metrics[] = {
    {"ipis_sent", "physical IPIs sent (a CSD queued on a non-empty queue sends none)",
     [](const m& x) { return x.ipis_sent; }},
    {"cpus_interrupted", "CPUs that took at least one IPI",
     [](const m& x) { return x.cpus_interrupted(); }},
    {"flush_ipis", "IPIs sent by TLB-flush paths", [](const m& x) { return x.flush_ipis; }},
    {"sync_ipis", "IPIs sent by tlb_remove_table_sync_one", [](const m& x) { return x.sync_ipis; }},
    {"sync_broadcasts", "tlb_remove_table_sync_one calls that sent IPIs",
     [](const m& x) { return x.sync_broadcasts; }},
    {"sync_skipped", "sync calls skipped because the flush implied them",
     [](const m& x) { return x.sync_skipped; }},
    {"flush_requests", "TLB flush calls (x86 flush_tlb_mm_range, arm64 TLBI sequences)",
     [](const m& x) { return x.flush_requests; }},
    {"tlbi_broadcasts", "broadcast TLBI instructions (arm64)",
     [](const m& x) { return x.tlbi_broadcasts; }},
    {"dsb_waits", "DSB ISH completions waited for (arm64)", [](const m& x) { return x.dsb_waits; }},
    {"flush_ns", "simulated time initiators spent in TLB-flush calls",
     [](const m& x) { return static_cast<std::uint64_t>(x.flush_ns); }},
    {"idle_polled_wakeups",
     "cross-CPU calls to a single polling idle CPU that set its need-resched flag instead of "
     "sending an IPI (idle_poll)",
     [](const m& x) { return x.idle_polled_wakeups; }},
    {"ipis_to_isolated", "IPIs taken by nohz_full CPUs",
     [](const m& x) { return x.ipis_to_isolated; }},
    {"isolated_irq_ns", "time nohz_full CPUs spent in IPI handlers",
     [](const m& x) { return static_cast<std::uint64_t>(x.isolated_irq_ns); }},
    {"rcu_grace_periods", "RCU grace periods completed",
     [](const m& x) { return x.rcu_grace_periods; }},
    {"page_faults", "page faults", [](const m& x) { return x.page_faults; }},
    {"wp_reuse_faults", "write faults that reused the page",
     [](const m& x) { return x.wp_reuse_faults; }},
    {"wp_copy_faults", "write faults that copied the page",
     [](const m& x) { return x.wp_copy_faults; }},
    {"spurious_faults", "faults whose PTE already allowed the access",
     [](const m& x) { return x.spurious_faults; }},
    {"pmd_tables_shared", "hugetlb PMD tables adopted from another VMA",
     [](const m& x) { return x.pmd_tables_shared; }},
    {"pmd_tables_unshared", "hugetlb PMD-table shares dropped (huge_pmd_unshare)",
     [](const m& x) { return x.pmd_tables_unshared; }},
    {"collapses", "khugepaged collapses completed", [](const m& x) { return x.collapses; }},
    {"collapses_failed", "khugepaged collapses abandoned",
     [](const m& x) { return x.collapses_failed; }},
    {"pages_moved", "pages moved by UFFDIO_MOVE", [](const m& x) { return x.pages_moved; }},
    {"pages_freed", "data pages freed", [](const m& x) { return x.pages_freed; }},
    {"tables_freed", "page-table pages freed", [](const m& x) { return x.tables_freed; }},
    {"gup_fast_pages", "pages pinned by GUP-fast", [](const m& x) { return x.gup_fast_pages; }},
    {"gup_fast_short", "GUP-fast calls that stopped early",
     [](const m& x) { return x.gup_fast_short; }},
    {"ops_completed", "workload operations completed", [](const m& x) { return x.ops_completed; }},
    {"sim_time_ns", "simulated time when the last workload thread finished",
     [](const m& x) { return static_cast<std::uint64_t>(x.sim_time_ns); }},
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
