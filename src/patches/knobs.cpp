#include "patches/knobs.h"

namespace sd::patches {

namespace {
constexpr std::array<knob_info, knob_count> k_knobs{{
    {knob::flush_before_table_free, "flush_before_table_free",
     "page-table pages go through the mmu_gather (flushed, then freed); off: free_pgtables "
     "frees them at once (test-only fault)",
     "mm/mmu_gather.c, include/asm-generic/tlb.h (unhook, flush, then free)", "",
     "free-pgtables-gup-fast"},
    {knob::rcu_table_free, "rcu_table_free",
     "CONFIG_MMU_GATHER_RCU_TABLE_FREE: table batches are freed after an RCU grace period; "
     "off: freed right after the TLB flush",
     "mm/mmu_gather.c tlb_remove_table_free; x86 unconditional since a37259732a7d",
     "x86 native: the freed_tables flush IPI fences GUP-fast by itself", "free-pgtables-gup-fast"},
    {knob::wake_lazy_on_freed_tables, "wake_lazy_on_freed_tables",
     "x86: a flush that frees tables IPIs lazy CPUs too (on_each_cpu_mask instead of the "
     "should_flush_tlb filter)",
     "arch/x86/mm/tlb.c native_flush_tlb_multi",
     "arm64: the TLBI broadcast reaches lazy CPUs anyway", "free-pgtables-lazy"},
    {knob::nested_gather_force_flush, "nested_gather_force_flush",
     "tlb_finish_mmu forces a full flush with freed_tables when another gather of the mm is "
     "in flight",
     "mm/mmu_gather.c tlb_finish_mmu (mm_tlb_flush_nested)", "", "nested-gather"},
    {knob::gup_fast_recheck, "gup_fast_recheck",
     "GUP-fast re-reads the PMD and PTE after taking its speculative reference",
     "mm/gup.c gup_fast_pte_range", "", "collapse-gup-fast"},
    {knob::gup_fast_irqs_off, "gup_fast_irqs_off",
     "GUP-fast walks with IRQs disabled (holds off flush/sync IPIs and RCU grace periods)",
     "mm/gup.c gup_fast (local_irq_save)", "", "free-pgtables-gup-fast"},
    {knob::collapse_sync, "collapse_sync",
     "khugepaged's tlb_remove_table_sync_one() after pmdp_collapse_flush(), before the old PTE "
     "table is consumed and deposited",
     "mm/khugepaged.c collapse_huge_page (2ba99c5e0881)",
     "x86 native: the freed_tables flush already IPI'd the walker's CPU (seeds 000/001)",
     "collapse-gup-fast"},
    {knob::hugetlb_unshare_sync, "hugetlb_unshare_sync",
     "the sync IPI of huge_pmd_unshare: per unshared table (1013af4) or once per gather when a "
     "table became exclusive (8ce720d)",
     "mm/hugetlb.c huge_pmd_unshare, include/asm-generic/tlb.h tlb_flush_unshared_tables",
     "x86 native: the unshare flush IPIs every CPU running the mm, the walker's included",
     "hugetlb-unshare-gup-fast"},
    {knob::wake_lazy_on_unshared_tables, "wake_lazy_on_unshared_tables",
     "x86 with x86-wake-lazy-on-unshare: the unshare flush IPIs lazy CPUs too (wake_lazy_cpus = "
     "freed_tables || unshared_tables); no effect without that feature",
     "arch/x86/include/asm/tlb.h tlb_flush (seeds 000/001, Lance Yang v8/v10)",
     "arm64: the TLBI broadcast reaches lazy CPUs; without the feature x86 never wakes them",
     "hugetlb-unshare-lazy"},
    {knob::kvm_flush_on_entry, "kvm_flush_on_entry",
     "x86-kvm: a vCPU the PV flush skipped because it was preempted gets KVM_VCPU_FLUSH_TLB and "
     "flushes before it runs again",
     "arch/x86/kernel/kvm.c kvm_flush_tlb_multi, arch/x86/kvm/x86.c record_steal_time",
     "every arch but x86-kvm", "zap-access"},
    {knob::arm64_dsb_after_tlbi, "arm64_dsb_after_tlbi",
     "arm64: DSB ISH after the broadcast TLBIs, which waits until every CPU completed them",
     "arch/arm64/include/asm/tlbflush.h __flush_tlb_range (dsb(ish))", "x86 (no TLBI)",
     "zap-access"},
    {knob::switch_mm_tlb_gen_catchup, "switch_mm_tlb_gen_catchup",
     "x86: switch_mm_irqs_off flushes the ASID slot when its tlb_gen is behind the mm's "
     "(flushes that skipped this CPU while it ran something else)",
     "arch/x86/mm/tlb.c switch_mm_irqs_off / choose_new_asid", "arm64 (no per-CPU tlb_gen)",
     "mm-switch-flush"},
    {knob::cpumask_before_tlb_gen, "cpumask_before_tlb_gen",
     "x86: switch_mm_irqs_off sets the mm_cpumask bit (a full barrier) before it reads tlb_gen, "
     "so a concurrent flush either IPIs it or is seen in tlb_gen",
     "arch/x86/mm/tlb.c switch_mm_irqs_off (cpumask_set_cpu, then atomic64_read tlb_gen)",
     "arm64 (no mm_cpumask); and on x86 check finds none on mm-switch-flush within bound 2: a "
     "cleared bit always comes with a flush that leaves this CPU's ASID slot behind, so the "
     "switch flushes anyway (docs/check.md)",
     ""},
    {knob::flush_before_page_free, "flush_before_page_free",
     "the mmu_gather frees queued data pages only after the TLB flush completed "
     "(tlb_flush_mmu: tlbonly, then free)",
     "mm/mmu_gather.c tlb_flush_mmu", "", "zap-access"},
    {knob::tlbsync_after_invlpgb, "tlbsync_after_invlpgb",
     "x86-invlpgb: TLBSYNC after the INVLPGBs, which waits until every CPU completed them "
     "(INVLPGB is weakly ordered)",
     "arch/x86/mm/tlb.c broadcast_tlb_flush, arch/x86/include/asm/tlb.h __tlbsync",
     "every arch but x86-invlpgb (only an mm with a global ASID is flushed by INVLPGB)",
     "invlpgb-zap-access"},
    {knob::hugetlb_unshare_share_check, "hugetlb_unshare_share_check",
     "huge_pmd_unshare returns 0 for a PMD table no other mm shares (ptdesc_pmd_is_shared), so "
     "the last sharer zaps its entries one by one and free_pgtables frees it; off: the "
     "exclusive table's PUD is cleared as if it were shared",
     "mm/hugetlb.c __huge_pmd_unshare (2026 mm tree)", "", "hugetlb-unshare-last"},
    {knob::table_batch_alloc, "table_batch_alloc",
     "not a safety step but memory pressure: on, the GFP_NOWAIT page for the mmu_gather's table "
     "batch is allocated; off, the allocation fails every time, so each freed table takes the "
     "fallback (flush, then tlb_remove_table_one: call_rcu with PT_RECLAIM, else "
     "synchronize_rcu since 1fb3d8c20bfa, else a sync IPI and an immediate free)",
     "mm/mmu_gather.c tlb_remove_table / tlb_remove_table_one",
     "none by itself: the fallback is a fence of its own on every arch; it is where seed 000's "
     "skip needs a preceding flush (docs/check.md)",
     ""},
}};
}  // namespace

const std::array<knob_info, knob_count>& knobs() {
  return k_knobs;
}

std::optional<knob> find_knob(std::string_view name) {
  for (const auto& k : k_knobs)
    if (k.name == name) return k.id;
  return std::nullopt;
}

}  // namespace sd::patches
