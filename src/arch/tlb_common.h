// Helpers shared by the arch backends: the mmu_gather's stride and level (asm-generic/tlb.h).
#pragma once
#include "kernel/kernel.h"
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

// A broadcast invalidation issued by `cpu` (arm64 TLBI ... IS, x86 INVLPGB). When its
// completion is waited for (DSB ISH, TLBSYNC) it has reached every CPU by then, so it is
// applied to every TLB holding entries of its tag, in CPU order (the others have nothing to
// drop; check still logs that every TLB was read, as its reduction needs); a range of a few
// MiB is looked up in the memory's chunk directory, so only CPUs holding entries near it are
// visited, in the same CPU order (the others would drop nothing). Otherwise only
// the local completion is sure: the other CPUs get it pending, landing at a time check
// chooses (timed runs never land it: a pessimistic bound).
inline void broadcast_invalidation(kern::kernel& k, unsigned cpu, const hw::invalidation& inv,
                                   bool completion_waited) {
  if (!completion_waited) {
    for (auto& c : k.cpus) {
      if (c.id == cpu)
        c.tlb.apply(inv);
      else
        c.pending_invalidations.push_back(inv);
    }
    return;
  }
  if (k.mem.log.on)
    for (const auto& c : k.cpus) k.mem.log.tlb(c.id);
  const auto apply = [&](std::uint32_t c) { k.cpus[c].tlb.apply(inv); };
  std::vector<std::uint64_t> near;
  if (hw::tlb::holders_of(k.mem, inv, near))
    mm::chunk_directory::for_each(near, apply);
  else
    k.mem.asids.for_each_cpu(inv.asid, apply);
}

}  // namespace sd::arch
