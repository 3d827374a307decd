#include "triage/registry.h"

#include <algorithm>

namespace sd::triage {

namespace {

using enum patches::feature;

constexpr std::string_view k_x86_arches[] = {"x86", "x86-kvm", "x86-invlpgb"};
constexpr std::string_view k_arm64[] = {"arm64"};
// The table-batch allocation fails (mm/mmu_gather.c tlb_remove_table: __get_free_page
// fails), so the table goes through tlb_remove_table_one: the path seeds 000/001 and
// 1fb3d8c20bfa change. Not a safety step turned off: an event the kernel must survive.
constexpr std::string_view k_batch_fails[] = {"table_batch_alloc"};

// hugetlb unsharing (mm/hugetlb.c huge_pmd_unshare): a GUP-fast walker inside the shared
// table, and a lazy CPU whose walk cache points at it. hugetlb-unshare-last is left out:
// unmapping its 1 GiB window takes the page-table lock 512 times, so dfs does not exhaust
// it at bound 2 (docs/check.md); it checks the share count, which no feature changes.
constexpr program_target k_unshare[] = {{"hugetlb-unshare-gup-fast"}, {"hugetlb-unshare-lazy"}};
constexpr program_target k_unshare_lazy[] = {{"hugetlb-unshare-lazy"}};
// tlb_remove_table_sync_one's callers: khugepaged's collapse, hugetlb unsharing, and the
// table-free fallback when the batch cannot be allocated.
// On x86-invlpgb the 2-CPU programs run below INVLPGB's 4-CPU threshold, so their flushes
// still IPI: the 4-CPU collapse program has a global ASID, and PCT samples it (docs/check.md:
// dfs does not finish even bound 0 at 4 CPUs).
constexpr std::string_view k_invlpgb[] = {"x86-invlpgb"};
constexpr program_target k_sync_callers[] = {
    {"collapse-gup-fast"},
    {"hugetlb-unshare-gup-fast"},
    {"free-pgtables-gup-fast", 0, k_batch_fails},
    {"invlpgb-collapse-gup-fast", 0, {}, k_invlpgb, 20'000}};
// Seed 002's check of "the flush really sent IPIs" needs a third CPU: a sibling the PV flush
// IPIs while the walker's vCPU is skipped (docs/check.md, 002 v3 as posted).
constexpr program_target k_collapse_3[] = {{"collapse-gup-fast", 3}};
// Seed 004's predicates: the walker in kernel mode (GUP-fast) and the perf NMI walker on a
// nohz_full CPU whose context tracking still reads user.
constexpr program_target k_collapse_walkers[] = {{"collapse-gup-fast"}, {"collapse-perf-nmi"}};
constexpr program_target k_uffd[] = {{"uffd-move-access"}};
constexpr program_target k_mprotect[] = {{"mprotect-write"}};
constexpr program_target k_wp_reuse[] = {{"wp-reuse"}};
constexpr program_target k_reclaim[] = {{"dontneed-reclaim-gup-fast"}};
constexpr program_target k_table_free_fallback[] = {{"free-pgtables-gup-fast", 0, k_batch_fails}};

constexpr patches::feature k_needs_wake_lazy[] = {x86_wake_lazy_on_unshare};
constexpr patches::feature k_skip_variants[] = {skip_redundant_sync_ipi_forced,
                                                skip_redundant_sync_ipi_kvm};
constexpr patches::feature k_collapse_variants[] = {collapse_flush_sync_as_posted};
constexpr patches::feature k_kernel_mode_variants[] = {sync_ipi_kernel_mode_only_as_posted};

constexpr scenario_target k_hugetlb_fork_exit{"hugetlb-fork-exit"};
constexpr scenario_target k_collapse{"khugepaged-collapse"};
constexpr scenario_target k_rt{"rt-isolated"};

constexpr entry k_entries[] = {
    {hugetlb_unshare_sync_per_table, k_unshare, k_hugetlb_fork_exit},
    {hugetlb_unshare_gather, k_unshare, k_hugetlb_fork_exit},
    {hugetlb_pmd_shared_fix,
     {},
     std::nullopt,
     {},
     {},
     {},
     "it changes how page migration and smaps/pagemap account folios in shared tables, which "
     "sends no flush or IPI and which the model does not run"},
    {x86_wake_lazy_on_unshare, k_unshare_lazy, k_hugetlb_fork_exit, k_x86_arches},
    {skip_redundant_sync_ipi, k_sync_callers, k_collapse, {}, k_needs_wake_lazy, k_skip_variants},
    {collapse_flush_sync, k_collapse_3, k_collapse, {}, {}, k_collapse_variants},
    {sync_ipi_mm_cpumask, k_collapse_walkers, k_rt},
    {sync_ipi_kernel_mode_only, k_collapse_walkers, k_rt, {}, {}, k_kernel_mode_variants},
    {uffd_move_batch, k_uffd, scenario_target{"uffd-move"}},
    {arm64_pte_needs_flush, k_mprotect, scenario_target{"mprotect-none-rw"}, k_arm64},
    {arm64_wp_reuse_local_flush, k_wp_reuse, scenario_target{"fork-cow-reuse"}, k_arm64},
    {arm64_unshare_walk_flush, k_unshare, k_hugetlb_fork_exit, k_arm64},
    {pt_reclaim_x86, k_reclaim, scenario_target{"tlb-flush-threads"}, k_x86_arches},
    {pt_reclaim_generic, k_reclaim, scenario_target{"tlb-flush-threads"}},
    {table_free_sync_rcu, k_table_free_fallback,
     scenario_target{"munmap-free-tables", k_batch_fails}},
    // The check variants, when a set names one directly.
    {skip_redundant_sync_ipi_forced, k_sync_callers, k_collapse},
    {skip_redundant_sync_ipi_kvm, k_sync_callers, k_collapse},
    {collapse_flush_sync_as_posted, k_collapse_3, k_collapse},
    {sync_ipi_kernel_mode_only_as_posted, k_collapse_walkers, k_rt},
};

}  // namespace

std::span<const entry> entries() {
  return k_entries;
}

const entry* find_entry(patches::feature f) {
  const auto it = std::find_if(std::begin(k_entries), std::end(k_entries),
                               [f](const entry& e) { return e.id == f; });
  return it == std::end(k_entries) ? nullptr : &*it;
}

}  // namespace sd::triage
