// struct mmu_gather and its operations (include/asm-generic/tlb.h, mm/mmu_gather.c, v7.0).
// Order it enforces per mm: unhook entries, invalidate TLBs (and walk caches), then free
// pages and page-table pages. It batches both: one range and one flush for many PTE
// clears; freed pages in page batches; freed tables in a table batch freed via RCU.
#pragma once
#include <cstdint>
#include <vector>

#include "mm/mm_types.h"
#include "sim/task.h"

namespace sd::kern {
struct kernel;
}

namespace sd::mm {

// Batch limits for 4 KiB pages on 64-bit (kernel-mechanisms s1.2).
inline constexpr unsigned MMU_GATHER_BUNDLE = 8;
inline constexpr unsigned MAX_GATHER_BATCH = 510;
inline constexpr unsigned MAX_GATHER_BATCH_COUNT = 19;
inline constexpr unsigned MAX_TABLE_BATCH = 509;

struct mmu_gather {
  mm_struct* mm = nullptr;
  va_t start = 0;
  va_t end = 0;
  bool fullmm = false;
  bool need_flush_all = false;
  bool freed_tables = false;
  bool cleared_ptes = false;
  bool cleared_pmds = false;
  bool cleared_puds = false;
  bool cleared_p4ds = false;
  // hugetlb PMD-table unsharing (8ce720d): a PUD entry pointing at a shared table was
  // cleared; fully_ = this unshare left the table exclusively owned by its last sharer.
  bool unshared_tables = false;
  bool fully_unshared_tables = false;
  // The tables unshared so far (every generation of huge_pmd_unshare), for the s11.12
  // check at i_mmap_rwsem release; monitor bookkeeping only.
  std::vector<pfn_t> unshared;

  // Page batches: the on-stack bundle, then up to MAX_GATHER_BATCH_COUNT page-sized ones.
  std::vector<pfn_t> pages;
  unsigned batch_count = 0;  // extra batches allocated
  unsigned active_nr = 0;    // entries in the active batch
  unsigned active_max = MMU_GATHER_BUNDLE;
  // Table batch (CONFIG_MMU_GATHER_TABLE_FREE); empty vector and !has_batch = no batch.
  std::vector<pfn_t> tables;
  bool has_table_batch = false;
};

void tlb_gather_mmu(mmu_gather& tlb, mm_struct& mm, bool fullmm);
void __tlb_reset_range(mmu_gather& tlb);
void __tlb_adjust_range(mmu_gather& tlb, va_t addr, va_t size);
// tlb_remove_tlb_entry(): a PTE was cleared at addr.
void tlb_remove_tlb_entry(mmu_gather& tlb, va_t addr);
// __tlb_remove_page(): queue a page to free after the flush; true = batch full, flush now.
bool __tlb_remove_page(mmu_gather& tlb, pfn_t page);

// pte_free_tlb / pmd_free_tlb / pud_free_tlb: record the parent-level range, set
// freed_tables, then tlb_remove_table().
sim::task<> free_table_tlb(kern::kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t table, level lvl,
                           va_t addr);
sim::task<> tlb_flush_mmu_tlbonly(kern::kernel& k, unsigned cpu, mmu_gather& tlb);
sim::task<> tlb_flush_mmu_free(kern::kernel& k, unsigned cpu, mmu_gather& tlb);
sim::task<> tlb_flush_mmu(kern::kernel& k, unsigned cpu, mmu_gather& tlb);
sim::task<> tlb_finish_mmu(kern::kernel& k, unsigned cpu, mmu_gather& tlb);

// tlb_remove_table_sync_one(): IPI every other online CPU and wait; proves each has been at
// an IRQs-enabled point since the call began. Not an RCU grace period. `mm` is what the
// seed 004 variants narrow the targets by (null: no mm known). Returns early when the arch
// says the preceding flush already IPI'd every CPU (seed 000).
sim::task<> tlb_remove_table_sync_one(kern::kernel& k, unsigned cpu, mm_struct* mm);
// tlb_remove_table_sync_rcu() (1fb3d8c20bfa): synchronize_rcu(); seed 000 lets it return
// early as the IPI version does.
sim::task<> tlb_remove_table_sync_rcu(kern::kernel& k, unsigned cpu);
// CONFIG_PT_RECLAIM in this kernel: the features for this arch, and RCU table freeing.
bool pt_reclaim(const kern::kernel& k);

// tlb_unshare_pmd_ptdesc(): drop our share of a shared PMD table whose PUD entry at addr was
// just cleared; record the PUD-wide range (8ce720d, include/asm-generic/tlb.h).
void tlb_unshare_pmd_ptdesc(kern::kernel& k, mmu_gather& tlb, pfn_t table, va_t addr);
// tlb_flush_unshared_tables(): flush now if anything was unshared, then sync if a table
// became exclusive. Must run before i_mmap_rwsem is released.
sim::task<> tlb_flush_unshared_tables(kern::kernel& k, unsigned cpu, mmu_gather& tlb);

// Final frees, with the monitors' checks (check/invariants.h).
void pagetable_free(kern::kernel& k, pfn_t table, const char* where);
void put_page(kern::kernel& k, pfn_t page, const char* where);

}  // namespace sd::mm
