// The invariant checks that need model state (kernel-mechanisms.md s11). Kernel paths call
// them at the points where the kernel's guarantee must hold.
#pragma once
#include <cstdint>

#include "mm/mm_types.h"
#include "mm/mmu_gather.h"

namespace sd::kern {
struct kernel;
}

namespace sd::check {

// A flush of [start, end) of mm, issued by `cpu`, completed: no CPU running mm (non-lazy)
// may still translate an address there differently from the page table (s11.5).
// `seq_at_start` is mm.pte_change_seq when the flush began.
// `where` names the point: a flush returning, or a syscall whose contract it is (madvise).
void flush_completed(kern::kernel& k, unsigned cpu, const mm::mm_struct& mm, mm::va_t start,
                     mm::va_t end, std::uint64_t seq_at_start,
                     const char* where = "flush completed");
// A page-table page is about to be freed: no CPU that has the owning mm loaded may cache a
// pointer to it in its walk cache (s11.2, s11.7).
void before_table_free(kern::kernel& k, mm::pfn_t table, const char* where);
// A data page is about to be freed: no CPU running an mm (non-lazy) may map it (s11.1).
void before_page_free(kern::kernel& k, mm::pfn_t page, const char* where);
// A walker read table `table` expecting generation `gen` (s11.3). Returns false (and
// reports) when the table was freed or reused since the pointer to it was read.
bool table_still_valid(kern::kernel& k, unsigned cpu, mm::pfn_t table, std::uint32_t gen,
                       const char* walker, const char* where);
// huge_pmd_unshare_flush() point: i_mmap_rwsem is about to be released after the gather
// unshared tlb.unshared. A table that became exclusive must have no walker of tlb.mm left
// inside (s11.12c), and no CPU with tlb.mm loaded may still cache a pointer to any of them.
void before_i_mmap_unlock(kern::kernel& k, const mm::mmu_gather& tlb);
// A PUD entry pointing at PMD table `table` was just cleared. If no mm's PUD entry reaches
// the table any more while it still maps pages, nothing will zap or free it: a leak.
void after_pud_clear(kern::kernel& k, mm::pfn_t table, const char* where);
// A CPU translated through a TLB entry to a page freed since (s11.5).
void report_stale_tlb_use(kern::kernel& k, unsigned cpu, mm::va_t va, mm::pfn_t page);
void report_tlb_gen_regression(kern::kernel& k, unsigned cpu, const mm::mm_struct& mm,
                               std::uint64_t local_gen, std::uint64_t mm_gen);
void report_gup_fast_stale_page(kern::kernel& k, unsigned cpu, mm::va_t va, mm::pfn_t page);

}  // namespace sd::check
