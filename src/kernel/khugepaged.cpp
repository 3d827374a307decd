// khugepaged's collapse of a PTE-mapped 2 MiB range into a THP (mm/khugepaged.c
// collapse_huge_page, kernel-mechanisms s6), run by a kthread that does not switch to the
// mm. With mmap_lock write and the VMA write-locked, under the PMD lock:
// pmdp_collapse_flush() clears the PMD and flushes the 2 MiB (flush_tlb_range: on x86
// freed_tables semantics, lazy CPUs included); then tlb_remove_table_sync_one() so that no
// GUP-fast still walks the old PTE table (2ba99c5e0881). Then, under the old PTE table's
// lock, the PTEs are isolated (a page with extra references, e.g. pinned by GUP-fast,
// abandons the collapse and the PMD is restored under the PMD lock), copied into the huge
// page, cleared and freed; under the PMD lock again the old PTE table is deposited
// (pgtable_trans_huge_deposit: repurposed, not freed) and the PMD maps the huge page.
// collapse-flush-sync (seed 002 v3): the sync is skipped when the flush itself sent IPIs.
#include "check/invariants.h"
#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/mmu_gather.h"
#include "mm/pt_lookup.h"
#include "mm/ptlock.h"

namespace sd::kern {

sim::task<bool> collapse_huge_page(kernel& k, unsigned cpu, mm::mm_struct& mm, mm::va_t haddr) {
  trace_scope ts(k, cpu, "collapse_huge_page");
  co_await k.step(cost::param::page_alloc);  // alloc_charge_folio(): the huge page
  const mm::pfn_t hpage = k.mem.alloc_data(true);
  co_await mm.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));
  mm::vm_area_struct* vma = mm.find_vma(haddr);
  mm::pt_entry* pmd = mm::lookup_entry(k.mem, mm, haddr, mm::level::pmd);
  const mm::pt_entry* pud = mm::lookup_entry(k.mem, mm, haddr, mm::level::pud);
  if (!vma || vma->kind != mm::vma_kind::anon || vma->prot_none || haddr < vma->vm_start ||
      haddr + mm::PMD_SIZE > vma->vm_end || !pmd || !pmd->present() || pmd->huge()) {
    mm.mmap_lock.up_write(k.eng);
    k.mem.free(hpage);
    ++k.stats.collapses_failed;
    co_return false;
  }
  co_await vma->vm_lock.down_write(k.eng, k.c(cost::param::atomic));  // vma_start_write()

  // pmdp_collapse_flush() under the PMD lock.
  mm::spinlock& pmd_ptl = mm::pmd_lockptr(k.mem, pud->pfn);
  co_await pmd_ptl.lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);
  const mm::pt_entry old_pmd = *pmd;
  *pmd = {};
  ++mm.pte_change_seq;
  co_await k.arch->flush_tlb_range(k, cpu, mm, haddr, haddr + mm::PMD_SIZE);
  const bool flush_sent_ipi = k.flush_sent_ipi;
  pmd_ptl.unlock(k.eng);

  const bool flush_sync = k.patch(patches::feature::collapse_flush_sync) ||
                          k.patch(patches::feature::collapse_flush_sync_as_posted);
  if (flush_sync && flush_sent_ipi)
    ++k.stats.sync_skipped;  // pmdp_collapse_flush_sync(): the flush already synced
  else if (k.knob(patches::knob::collapse_sync))
    co_await mm::tlb_remove_table_sync_one(k, cpu, &mm);

  // __collapse_huge_page_isolate() under the PTE table's lock: every page must be ours alone.
  const mm::pfn_t table = old_pmd.pfn;
  mm::spinlock& pte_ptl = mm::pte_lockptr(k.mem, table);
  co_await pte_ptl.lock(k.eng, k.c(cost::param::atomic));
  std::int64_t present = 0;
  bool isolated = true;
  // The table object stays where it is while its frame lives (frame::table owns it).
  mm::pt_table& ptes = k.mem.table(table);
  for (const mm::pt_entry& pte : ptes.e) {
    if (!pte.present()) continue;
    ++present;
    if (k.mem[pte.pfn].refcount != 1) isolated = false;
  }
  co_await k.step(cost::param::pt_read, present);
  if (!isolated) {
    pte_ptl.unlock(k.eng);
    co_await pmd_ptl.lock(k.eng, k.c(cost::param::atomic));
    co_await k.step(cost::param::pt_write);
    *pmd = old_pmd;  // pmd_populate(): put the PTE table back
    pmd_ptl.unlock(k.eng);
    vma->vm_lock.up_write(k.eng);
    mm.mmap_lock.up_write(k.eng);
    k.mem.free(hpage);
    ++k.stats.collapses_failed;
    co_return false;
  }
  // __collapse_huge_page_copy(): copy, clear the PTEs, free the small pages. The kernel
  // drops the PTE lock between isolate and copy and takes it again per PTE; nothing else can
  // reach the table meanwhile (its PMD is clear, mmap_lock is held for write), so the model
  // keeps it.
  co_await k.step(cost::param::page_copy, present);
  co_await k.step(cost::param::pt_write, present);
  for (mm::pt_entry& pte : ptes.e) {
    if (!pte.present()) continue;
    const mm::pfn_t page = pte.pfn;
    pte = {};
    mm::put_page(k, page, "__collapse_huge_page_copy");
  }
  pte_ptl.unlock(k.eng);
  co_await pmd_ptl.lock(k.eng, k.c(cost::param::atomic));
  // pgtable_trans_huge_deposit(): the table lives on for a later split. Any walker that
  // read a pointer to it before the PMD was cleared must be gone by now.
  check::before_table_free(k, table, "collapse_huge_page: deposit the old PTE table");
  k.mem.reuse_table(table);
  mm.deposited[haddr] = table;
  co_await k.step(cost::param::pt_write);  // set_pmd_at()
  *pmd = {hpage, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_PSE |
                     mm::_PAGE_ACCESSED | mm::_PAGE_DIRTY};
  pmd_ptl.unlock(k.eng);
  vma->vm_lock.up_write(k.eng);
  mm.mmap_lock.up_write(k.eng);
  ++k.stats.collapses;
  co_return true;
}

}  // namespace sd::kern
