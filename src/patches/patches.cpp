#include "patches/patches.h"

#include <stdexcept>

namespace sd::patches {

namespace {

using enum feature;

constexpr std::array<feature_info, feature_count> k_features{{
    {hugetlb_unshare_sync_per_table, "hugetlb-unshare-sync-per-table",
     "1013af4f585f (CVE-2025-38085, Jann Horn, May 2025)", "003 (its Fixes: target)",
     "huge_pmd_unshare sends tlb_remove_table_sync_one for every unshared PMD table",
     "kernel/hugetlb.cpp huge_pmd_unshare (ignored when hugetlb-unshare-gather is on: 8ce720d "
     "rewrote that code)"},
    {hugetlb_unshare_gather, "hugetlb-unshare-gather", "8ce720d5bd91 (David Hildenbrand, Dec 2025)",
     "003",
     "unsharing goes through the mmu_gather: one flush and at most one sync per gather, none when "
     "not the last sharer",
     "mm/mmu_gather.cpp tlb_unshare_pmd_ptdesc / tlb_flush_unshared_tables; kernel/hugetlb.cpp"},
    {hugetlb_pmd_shared_fix, "hugetlb-pmd-shared-fix", "ca1a47cd3f5f (David Hildenbrand, Dec 2025)",
     "003",
     "hugetlb_pmd_shared() reads pt_share_count instead of the page count, so shared tables are "
     "detected again",
     "no flush or IPI effect: it changes page migration and smaps/pagemap accounting of folios in "
     "shared tables, which the model does not run; listed so presets are complete"},
    {x86_wake_lazy_on_unshare, "x86-wake-lazy-on-unshare",
     "Lance Yang v8/v10 (20260309020711.20831-1-lance.yang@linux.dev)", "000, 001",
     "x86 tlb_flush passes freed_tables || unshared_tables (wake_lazy_cpus): unshare flushes reach "
     "lazy CPUs",
     "arch/x86.cpp tlb_flush"},
    {skip_redundant_sync_ipi, "skip-redundant-sync-ipi",
     "Lance Yang v8 1/2 + 2/2 (tlb_table_flush_implies_ipi_broadcast)", "000, 001",
     "tlb_remove_table_sync_one returns early when the preceding flush IPI'd every CPU: native x86 "
     "only (no INVLPGB, no paravirt flush)",
     "arch/x86.cpp tlb_table_flush_implies_ipi_broadcast (false on x86-kvm, x86-invlpgb, arm64)"},
    {collapse_flush_sync, "collapse-flush-sync", "Lance Yang v3 (pmdp_collapse_flush_sync)", "002",
     "khugepaged clears, flushes and syncs in one call; the sync IPI is skipped when the flush "
     "really sent IPIs",
     "kernel/khugepaged.cpp collapse_huge_page; the native x86 flush records that it sent IPIs"},
    {sync_ipi_mm_cpumask, "sync-ipi-mm-cpumask",
     "Yair Podemsky 2/3 (20230404134224.137038-1-ypodemsk@redhat.com)", "004",
     "tlb_remove_table_sync_one(mm) IPIs only mm_cpumask(mm) on arches that maintain it",
     "mm/mmu_gather.cpp tlb_remove_table_sync_one (arm64 keeps all CPUs: no mm_cpumask)"},
    {sync_ipi_kernel_mode_only, "sync-ipi-kernel-mode-only", "Yair Podemsky 3/3 (withdrawn in v2)",
     "004", "the sync IPI skips CPUs whose context-tracking state is not CT_STATE_KERNEL",
     "mm/mmu_gather.cpp tlb_remove_table_sync_one, hw/cpu.h ct_state (USER only on nohz_full)"},
    {uffd_move_batch, "uffd-move-batch", "5094469 (Lokesh Gidra, Aug 2025)", "003",
     "UFFDIO_MOVE clears a PMD-bounded run of present PTEs and flushes once per batch",
     "kernel/userfaultfd.cpp move_pages_pte"},
    {arm64_pte_needs_flush, "arm64-pte-needs-flush", "c320dbb7c80d (Dev Jain, 2025)", "003",
     "arm64 mprotect skips the flush when the old PTE was invalid (e.g. PROT_NONE -> RW)",
     "kernel/mprotect.cpp change_pte_range via arch pte_needs_flush"},
    {arm64_wp_reuse_local_flush, "arm64-wp-reuse-local-flush",
     "Huang Ying 2025 (arm64, tlbflush: don't TLBI broadcast if page reused in write fault)", "003",
     "write-fault reuse flushes only the local TLB; stale read-only entries elsewhere are "
     "dropped by the spurious-fault path",
     "kernel/fault.cpp wp_page_reuse, flush_tlb_fix_spurious_fault"},
    // Found in the stable list's release notes: in 7.0.12 and 6.18.35 (9 Jun 2026), not in
    // v7.0 or 6.18.13, which carry 8ce720d without it.
    {arm64_unshare_walk_flush, "arm64-unshare-walk-flush",
     "c2ff4764e03e (Zeng Heng, 2026: arm64: tlb: Flush walk cache when unsharing PMD tables; "
     "Fixes 8ce720d, CVE-2026-63875)",
     "003 (a fix of its 8ce720d)",
     "arm64 tlb_flush invalidates the walk cache when PMD tables were unshared, not only when "
     "tables were freed; without it the unshare flush of 8ce720d is leaf-only",
     "arch/arm64.cpp tlb_flush (reads unshared_tables, which only hugetlb-unshare-gather sets)"},
    {pt_reclaim_x86, "pt-reclaim-x86",
     "Qi Zheng, v6.14 (x86: select ARCH_SUPPORTS_PT_RECLAIM if X86_64)", "000 (its audit list)",
     "CONFIG_PT_RECLAIM on x86-64: MADV_DONTNEED of a whole PTE table frees the emptied table "
     "through the gather (a freed_tables flush, RCU free), and a failed table-batch allocation "
     "frees the one table with call_rcu",
     "kernel/mmap.cpp zap_pte_range, mm/mmu_gather.cpp tlb_remove_table_one (x86 arches only; "
     "needs rcu_table_free)"},
    {pt_reclaim_generic, "pt-reclaim-generic",
     "9c8c02df3f87 (Qi Zheng, Jan 2026: PT_RECLAIM depends on MMU_GATHER_RCU_TABLE_FREE)",
     "000 (its audit list)", "CONFIG_PT_RECLAIM on every arch with RCU table freeing (arm64 too)",
     "as pt-reclaim-x86, on every arch"},
    {table_free_sync_rcu, "table-free-sync-rcu",
     "1fb3d8c20bfa (Lance Yang, Feb 2026: replace IPI with synchronize_rcu() when batch "
     "allocation fails)",
     "000 (tlb_remove_table_sync_rcu, which seed 000 also lets return early)",
     "without PT_RECLAIM, a failed table-batch allocation waits with tlb_remove_table_sync_rcu() "
     "(synchronize_rcu) instead of a sync IPI before freeing the table",
     "mm/mmu_gather.cpp tlb_remove_table_one, tlb_remove_table_sync_rcu"},
    {skip_redundant_sync_ipi_forced, "skip-redundant-sync-ipi-forced",
     "not a posted patch: seeds 000/001's skip with the arch check removed", "000, 001",
     "tlb_remove_table_sync_one returns early on every arch (x86-kvm, x86-invlpgb, arm64 too): "
     "shows why the kernel enables the skip only for native x86",
     "mm/mmu_gather.cpp tlb_remove_table_sync_one"},
    {skip_redundant_sync_ipi_kvm, "skip-redundant-sync-ipi-kvm",
     "Lance Yang v4 variant: flush_tlb_multi_implies_ipi_broadcast set for KVM \"because KVM "
     "calls native_flush_tlb_multi\" (objected to in review)",
     "000, 001",
     "the sync skip also in KVM guests, whose PV flush skips preempted vCPUs "
     "(kernel-mechanisms s2.10, s12.2)",
     "arch/x86.cpp tlb_table_flush_implies_ipi_broadcast"},
    {collapse_flush_sync_as_posted, "collapse-flush-sync-as-posted",
     "Lance Yang v3 2/2 as posted (info->sent_ipi set in native_flush_tlb_multi)", "002",
     "as collapse-flush-sync, but the sent-IPI flag is set in native_flush_tlb_multi, which "
     "kvm_flush_tlb_multi reaches after dropping preempted vCPUs: an IPI to any vCPU counts",
     "arch/x86.cpp flush_tlb_mm_range, kernel/khugepaged.cpp collapse_huge_page"},
    {sync_ipi_kernel_mode_only_as_posted, "sync-ipi-kernel-mode-only-as-posted",
     "Yair Podemsky 3/3 as posted (20230404134224.137038-4-ypodemsk@redhat.com)", "004",
     "the predicate 'state & CT_STATE_MASK == CONTEXT_KERNEL' parses as state & (CT_STATE_MASK == "
     "CONTEXT_KERNEL), which is 0: the sync IPI reaches no CPU",
     "mm/mmu_gather.cpp tlb_remove_table_sync_one"},
}};

constexpr feature k_v6_17[] = {hugetlb_unshare_sync_per_table, pt_reclaim_x86};
constexpr feature k_v6_17_backport[] = {hugetlb_unshare_sync_per_table,
                                        hugetlb_unshare_gather,
                                        hugetlb_pmd_shared_fix,
                                        uffd_move_batch,
                                        arm64_pte_needs_flush,
                                        arm64_wp_reuse_local_flush,
                                        pt_reclaim_x86};
constexpr feature k_v6_18[] = {hugetlb_unshare_sync_per_table, uffd_move_batch, pt_reclaim_x86};
constexpr feature k_v6_18_13[] = {hugetlb_unshare_sync_per_table, hugetlb_unshare_gather,
                                  hugetlb_pmd_shared_fix, uffd_move_batch, pt_reclaim_x86};
constexpr feature k_v6_18_35[] = {hugetlb_unshare_sync_per_table, hugetlb_unshare_gather,
                                  hugetlb_pmd_shared_fix,         uffd_move_batch,
                                  arm64_unshare_walk_flush,       pt_reclaim_x86};
constexpr feature k_v6_19[] = {hugetlb_unshare_gather, hugetlb_pmd_shared_fix,     uffd_move_batch,
                               arm64_pte_needs_flush,  arm64_wp_reuse_local_flush, pt_reclaim_x86};
constexpr feature k_v7_0[] = {hugetlb_unshare_gather, hugetlb_pmd_shared_fix,     uffd_move_batch,
                              arm64_pte_needs_flush,  arm64_wp_reuse_local_flush, pt_reclaim_x86,
                              pt_reclaim_generic};
constexpr feature k_v7_0_12[] = {
    hugetlb_unshare_gather,     hugetlb_pmd_shared_fix,   uffd_move_batch, arm64_pte_needs_flush,
    arm64_wp_reuse_local_flush, arm64_unshare_walk_flush, pt_reclaim_x86,  pt_reclaim_generic};
constexpr feature k_v7_0_sync_skip[] = {
    hugetlb_unshare_gather,   hugetlb_pmd_shared_fix,     uffd_move_batch,
    arm64_pte_needs_flush,    arm64_wp_reuse_local_flush, arm64_unshare_walk_flush,
    x86_wake_lazy_on_unshare, skip_redundant_sync_ipi,    pt_reclaim_x86,
    pt_reclaim_generic,       table_free_sync_rcu};

constexpr preset_info k_presets[] = {
    {"none",
     "no feature: hugetlb unsharing without any sync (before 1013af4), per-page MOVE "
     "flushes, unconditional arm64 mprotect and write-fault-reuse flushes, no PT_RECLAIM (a failed "
     "table-batch allocation syncs by IPI and frees at once)",
     {}},
    {"v6.17",
     "v6.17 as released: has the CVE-2025-38085 per-table sync (1013af4, merged for 6.16), none of "
     "seed 003's backports; PT_RECLAIM on x86-64 only (since 6.14); every 6.17.y (the last, "
     "6.17.13 of 18 Dec 2025, predates 8ce720d in mainline)",
     k_v6_17},
    {"v6.17-backport",
     "v6.17 with seed 003's backport list (NVIDIA PR #350): MOVE batching, arm64 pte_needs_flush "
     "and write-fault local flush, hugetlb_pmd_shared fix, and the mmu_gather unshare rework "
     "(which replaces the per-table sync)",
     k_v6_17_backport},
    {"v6.18",
     "v6.18 as released: per-table sync still in place (8ce720d came in 6.19 and in 6.18.13), "
     "MOVE batching (seen on a 6.18 host); arm64 pte_needs_flush (c320dbb7c80d, applied to "
     "arm64 for-next on 13 Nov 2025) and the write-fault local flush (cb1fa2e99955) were merged "
     "for 6.19 and are not fixes, so no 6.18 has them; PT_RECLAIM on x86-64 only",
     k_v6_18},
    {"v6.18.13",
     "6.18.13 to 6.18.34 (stable): v6.18 plus the mmu_gather unshare rework (8ce720d: the 6.18.13 "
     "release notes, 19 Feb 2026) and the hugetlb_pmd_shared() fix (6.18.8); not yet the arm64 "
     "walk-cache fix of that rework",
     k_v6_18_13},
    {"v6.18.35",
     "6.18.35 and later (stable): v6.18.13 plus arm64-unshare-walk-flush (c2ff4764e03e: "
     "the 6.18.35 release notes, 9 Jun 2026)",
     k_v6_18_35},
    {"v6.19",
     "mainline v6.19: every seed 003 patch (the NVIDIA backport's 'from v6.19'; 8ce720d reached "
     "mainline before the stable trees' 26 Jan 2026 FAILED mails), no arm64 walk-cache fix "
     "(merged after v7.0); PT_RECLAIM on x86-64 only (9c8c02df3f87 is 7.0)",
     k_v6_19},
    {"v7.0",
     "mainline v7.0: every seed 003 patch; no sync-IPI skip and no wake-lazy-on-unshare "
     "(kernel-mechanisms 2.10: not in v7.0 mm/mmu_gather.c); PT_RECLAIM on every arch with RCU "
     "table freeing (9c8c02df3f87, posted on 6.19-rc7 for the 7.0 merge window); no arm64 "
     "walk-cache fix (its stable review lists it for 7.0.12)",
     k_v7_0},
    {"v7.0.12",
     "7.0.12 and later (stable): v7.0 plus arm64-unshare-walk-flush (c2ff4764e03e: the 7.0.12 "
     "release notes, 9 Jun 2026)",
     k_v7_0_12},
    {"v7.0-sync-skip",
     "v7.0 plus seeds 000/001 (Lance Yang v8/v10): tlb_table_flush_implies_ipi_broadcast on native "
     "x86 and wake_lazy_cpus = freed_tables || unshared_tables; and the 7.2 mm tree they apply to "
     "(seed 001: 'PATCH 7.2 v10') has tlb_remove_table_sync_rcu (1fb3d8c20bfa) and arm64's "
     "walk-cache fix (c2ff4764e03e, in mainline before its 7.0.12 backport)",
     k_v7_0_sync_skip},
};

}  // namespace

const std::array<feature_info, feature_count>& features() {
  return k_features;
}

const feature_info& info(feature f) {
  return k_features[static_cast<std::size_t>(f)];
}

std::optional<feature> find_feature(std::string_view name) {
  for (const auto& f : k_features)
    if (f.name == name) return f.id;
  return std::nullopt;
}

std::vector<std::string_view> patch_set::names() const {
  std::vector<std::string_view> out;
  for (const auto& f : k_features)
    if ((*this)[f.id]) out.push_back(f.name);
  return out;
}

std::span<const preset_info> presets() {
  return k_presets;
}

const preset_info* find_preset(std::string_view name) {
  for (const auto& p : k_presets)
    if (p.name == name) return &p;
  return nullptr;
}

patch_set parse_patch_set(std::string_view spec) {
  patch_set s;
  if (spec.empty()) throw std::invalid_argument("empty patch set");
  // Parts separated by '+' (add) or '~' (remove), applied left to right.
  bool add = true;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = spec.find_first_of("+~", pos);
    const std::string_view part = spec.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (part.empty())
      throw std::invalid_argument("empty part in patch set '" + std::string(spec) + "'");
    if (const preset_info* p = find_preset(part)) {
      for (feature f : p->features) s.set(f, add);
    } else if (auto f = find_feature(part)) {
      s.set(*f, add);
    } else {
      throw std::invalid_argument("unknown patch or preset '" + std::string(part) + "' in '" +
                                  std::string(spec) + "' (see 'shootdown list patches')");
    }
    if (end == std::string_view::npos) break;
    add = spec[end] == '+';
    pos = end + 1;
  }
  return s;
}

}  // namespace sd::patches
