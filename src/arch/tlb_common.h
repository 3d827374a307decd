// Helpers shared by the arch backends: the mmu_gather's stride and level (asm-generic/tlb.h).
#pragma once
#include "mm/mmu_gather.h"

namespace sd::arch {

// tlb_get_unmap_shift(): the smallest level at which entries were cleared.
inline unsigned tlb_get_unmap_shift(const mm::mmu_gather& tlb) {
  if (tlb.cleared_ptes) return mm::PAGE_SHIFT;
  if (tlb.cleared_pmds) return mm::PMD_SHIFT;
  if (tlb.cleared_puds) return mm::PUD_SHIFT;
  if (tlb.cleared_p4ds) return mm::PGDIR_SHIFT;
  return mm::PAGE_SHIFT;
}

}  // namespace sd::arch
