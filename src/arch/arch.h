// The architecture interface. Each backend answers the same questions the generic mm code
// asks of an arch (asm/tlb.h, asm/tlbflush.h, asm/mmu_context.h):
//   - tlb_flush(): flush what an mmu_gather accumulated;
//   - flush_tlb_range()/flush_tlb_mm(): the non-gather flushes;
//   - switch_mm_irqs_off()/enter_lazy_tlb(): what a context switch does to the MMU;
//   - tlb_table_flush_implies_ipi_broadcast(): whether such a flush also fenced every
//     IRQs-off walker (seed 000; false unless a seed patch says otherwise).
// Contract: a backend changes only TLB/MMU state, the mm's flush bookkeeping (cpumask,
// tlb_gen) and metrics; it never frees memory. Every flush it performs is complete (all
// targeted CPUs invalidated) when the returned task finishes, and it then calls
// check::flush_completed so the stale-translation monitor can run.
#pragma once
#include <array>
#include <memory>
#include <string_view>

#include "cost/cost_model.h"
#include "mm/pgtable.h"
#include "sim/task.h"

namespace sd::kern {
struct kernel;
}
namespace sd::mm {
struct mm_struct;
struct mmu_gather;
}  // namespace sd::mm

namespace sd::arch {

class arch_ops {
 public:
  virtual ~arch_ops() = default;
  virtual std::string_view name() const = 0;
  // x86, x86-kvm or x86-invlpgb: for x86-only kernel code outside arch/ (intel_idle,
  // Kconfig selects such as ARCH_SUPPORTS_PT_RECLAIM).
  bool is_x86() const { return name().starts_with("x86"); }
  virtual bool maintains_mm_cpumask() const = 0;
  // CONFIG_MMU_GATHER_MERGE_VMAS: tlb_end_vma() does not flush at each VMA boundary.
  virtual bool merge_vmas() const = 0;

  virtual sim::task<> tlb_flush(kern::kernel& k, unsigned cpu, mm::mmu_gather& tlb) = 0;
  // flush_tlb_range(vma, start, end): callers may be changing table entries, so on x86 this
  // passes freed_tables = true and on arm64 it invalidates all levels.
  virtual sim::task<> flush_tlb_range(kern::kernel& k, unsigned cpu, mm::mm_struct& mm,
                                      mm::va_t start, mm::va_t end) = 0;
  virtual sim::task<> flush_tlb_mm(kern::kernel& k, unsigned cpu, mm::mm_struct& mm) = 0;
  // flush_tlb_page(vma, addr): one page, leaf entries only (x86: freed_tables = false).
  virtual sim::task<> flush_tlb_page(kern::kernel& k, unsigned cpu, mm::mm_struct& mm,
                                     mm::va_t va) = 0;
  // ptep_set_access_flags() after a write fault made a PTE more permissive (wp_page_reuse):
  // the flush it does for other CPUs' stale read-only entries, if any.
  virtual sim::task<> ptep_set_access_flags(kern::kernel& k, unsigned cpu, mm::mm_struct& mm,
                                            mm::va_t va) = 0;
  // flush_tlb_fix_spurious_fault(): a fault found the PTE already allowing the access.
  virtual sim::task<> flush_tlb_fix_spurious_fault(kern::kernel& k, unsigned cpu, mm::mm_struct& mm,
                                                   mm::va_t va) = 0;
  // pte_needs_flush(old, new): does mprotect's change of a PTE need a TLB flush?
  virtual bool pte_needs_flush(const kern::kernel& k, mm::pt_entry oldpte,
                               mm::pt_entry newpte) const = 0;
  // Whether taking a page fault (a missing page or a permission fault) drops the TLB entry
  // and the paging-structure-cache entries for the faulting address (x86: Intel SDM 3A
  // 4.10.4.1), so the retry walks the page tables from the root; arm64 keeps them until a
  // TLBI.
  virtual bool fault_invalidates_tlb_entry() const = 0;

  virtual sim::task<> switch_mm_irqs_off(kern::kernel& k, unsigned cpu, mm::mm_struct& next) = 0;
  virtual void enter_lazy_tlb(kern::kernel& k, unsigned cpu) = 0;

  virtual bool tlb_table_flush_implies_ipi_broadcast(const kern::kernel&) const { return false; }
};

std::unique_ptr<arch_ops> make_x86();
std::unique_ptr<arch_ops> make_x86_kvm();
std::unique_ptr<arch_ops> make_x86_invlpgb();
std::unique_ptr<arch_ops> make_arm64();

struct arch_info {
  std::string_view name;
  std::string_view summary;
  std::unique_ptr<arch_ops> (*make)();
  cost::preset costs;  // the cost preset runs on this arch start from
};
const std::array<arch_info, 4>& arches();
const arch_info* find_arch(std::string_view name);

}  // namespace sd::arch
