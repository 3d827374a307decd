#include "patches/knobs.h"

namespace sd::patches {

namespace {
constexpr std::array<knob_info, knob_count> k_knobs{{
    {knob::flush_before_table_free, "flush_before_table_free",
     "page-table pages go through the mmu_gather (flushed, then freed); off: free_pgtables "
     "frees them at once (test-only fault)",
     "mm/mmu_gather.c, include/asm-generic/tlb.h (unhook, flush, then free)"},
    {knob::rcu_table_free, "rcu_table_free",
     "CONFIG_MMU_GATHER_RCU_TABLE_FREE: table batches are freed after an RCU grace period; "
     "off: freed right after the TLB flush",
     "mm/mmu_gather.c tlb_remove_table_free; x86 unconditional since a37259732a7d"},
    {knob::wake_lazy_on_freed_tables, "wake_lazy_on_freed_tables",
     "x86: a flush that frees tables IPIs lazy CPUs too (on_each_cpu_mask instead of the "
     "should_flush_tlb filter)",
     "arch/x86/mm/tlb.c native_flush_tlb_multi"},
    {knob::nested_gather_force_flush, "nested_gather_force_flush",
     "tlb_finish_mmu forces a full flush with freed_tables when another gather of the mm is "
     "in flight",
     "mm/mmu_gather.c tlb_finish_mmu (mm_tlb_flush_nested)"},
    {knob::gup_fast_recheck, "gup_fast_recheck",
     "GUP-fast re-reads the PMD and PTE after taking its speculative reference",
     "mm/gup.c gup_fast_pte_range"},
    {knob::gup_fast_irqs_off, "gup_fast_irqs_off",
     "GUP-fast walks with IRQs disabled (holds off flush/sync IPIs and RCU grace periods)",
     "mm/gup.c gup_fast (local_irq_save)"},
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
