// Split page-table locks (include/linux/mm.h pte_lockptr, pmd_lockptr, pud_lockptr;
// mm/Kconfig SPLIT_PTE_PTLOCKS, SPLIT_PMD_PTLOCKS; 2026 mm tree). On an SMP x86-64 or arm64
// kernel with four-level tables (both select ARCH_ENABLE_SPLIT_PMD_PTLOCK) the entries of a
// PTE table are guarded by the spinlock in the table's own ptdesc, and so are the entries of
// a PMD table; the levels above take mm->page_table_lock. So faults in different 2 MiB
// ranges do not wait for each other, and a hugetlb PMD table shared between processes has
// one lock for all of them (huge_pte_lockptr -> pmd_lockptr).
#pragma once
#include "mm/memory.h"
#include "mm/mm_types.h"

namespace sd::mm {

// The lock of the PTE table `table` (pte_lockptr(mm, pmd) for the PMD entry pointing at it).
inline spinlock& pte_lockptr(memory& mem, pfn_t table) {
  return *mem[table].ptl;
}

// The lock of the PMD table `table`, for any of its entries (pmd_lockptr(mm, pmd)).
inline spinlock& pmd_lockptr(memory& mem, pfn_t table) {
  return *mem[table].ptl;
}

// The recheck after taking a PTE table's lock (pte_offset_map_lock()'s pmd_same, UFFDIO_MOVE's
// is_pte_pages_stable): whether the entry for va in the PMD table `pmd_table` still points
// at the PTE table `table`, which PT_RECLAIM may have unhooked before the lock was taken.
inline bool pmd_points_at(memory& mem, pfn_t pmd_table, va_t va, pfn_t table) {
  const pt_entry& pmd = mem.table(pmd_table).e[pt_index(va, 2)];
  return pmd.present() && !pmd.huge() && pmd.pfn == table;
}

// The lock for an entry of a PUD table or above (pud_lockptr(), __pud_alloc, __p4d_alloc).
inline spinlock& pud_lockptr(mm_struct& mm) {
  return mm.page_table_lock;
}

}  // namespace sd::mm
