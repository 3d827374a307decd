// Unmapping and page-table freeing shared by munmap, exit, madvise, khugepaged and the
// hugetlb paths (mm/memory.c unmap_single_vma / unmap_vmas / free_pgtables).
#pragma once
#include <memory>
#include <vector>

#include "kernel/kernel.h"
#include "mm/mmu_gather.h"

namespace sd::kern {

using vma_list = std::vector<std::shared_ptr<mm::vm_area_struct>>;

// unmap_single_vma(): zap [start, end) of one VMA into the gather (hugetlb VMAs go through
// __unmap_hugepage_range under i_mmap_rwsem). reclaim_pt: zap_details.reclaim_pt, set only
// by MADV_DONTNEED (PT_RECLAIM frees PTE tables the zap empties whole).
sim::task<> unmap_single_vma(kernel& k, unsigned cpu, mm::mmu_gather& tlb, mm::vm_area_struct& vma,
                             mm::va_t start, mm::va_t end, bool reclaim_pt = false);
// unmap_vmas(): each VMA whole, with tlb_end_vma() between them.
sim::task<> unmap_vmas(kernel& k, unsigned cpu, mm::mmu_gather& tlb, const vma_list& vmas);
// free_pgtables() for adjacent VMAs between floor and ceiling; unlinks file VMAs.
sim::task<> free_pgtables(kernel& k, unsigned cpu, mm::mmu_gather& tlb, const vma_list& vmas,
                          mm::va_t floor, mm::va_t ceiling);

// The PTE table covering va, allocating missing levels as the fault path does
// (__pud_alloc/__pmd_alloc/__pte_alloc). `huge` is set instead when a huge PMD maps va.
// (kernel/fault.cpp)
// __pte_alloc/__pmd_alloc/__pud_alloc for `entry`: allocate a level-`lvl` table outside the
// lock, then under `ptl`, the entry's lock (mm/ptlock.h: pmd_lockptr for a PMD entry,
// pud_lockptr above), install it unless another thread did first.
sim::task<> pt_populate(kernel& k, mm::mm_struct& mm, mm::spinlock& ptl, mm::pt_entry& entry,
                        mm::level lvl);

struct pte_table_ref {
  mm::pfn_t table = 0;      // the PTE table
  mm::pfn_t pmd_table = 0;  // the PMD table whose entry points at it (or is the huge PMD)
  mm::pt_entry* huge = nullptr;
};
sim::task<pte_table_ref> pte_alloc(kernel& k, mm::mm_struct& mm, mm::va_t va);
// pte_offset_map_lock(): the lock of ref.table, held, if the PMD still points at it; null
// if PT_RECLAIM unhooked it (kernel/fault.cpp).
sim::task<mm::spinlock*> pte_offset_map_lock(kernel& k, unsigned cpu, const pte_table_ref& ref,
                                             mm::va_t va);

// Hugetlb (kernel/hugetlb.cpp).
sim::task<> unmap_hugepage_range_final(kernel& k, unsigned cpu, mm::mmu_gather& tlb,
                                       mm::vm_area_struct& vma, mm::va_t start, mm::va_t end);
void unlink_file_vma(mm::vm_area_struct& vma);
// hugetlb_fault(): map the file's 2 MiB page at va, sharing a PMD table when possible.
sim::task<bool> hugetlb_fault(kernel& k, mm::vm_area_struct& vma, mm::va_t va);

}  // namespace sd::kern
