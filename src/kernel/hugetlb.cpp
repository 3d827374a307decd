// hugetlb shared mappings with PMD-table sharing (mm/hugetlb.c, kernel-mechanisms s5):
//   - huge_pmd_share() at fault (fork copies nothing of a MAP_SHARED hugetlb VMA, see
//     fork.cpp): a VMA mapping the same file window as another
//     VMA adopts that VMA's PMD table (pt_share_count + 1) under i_mmap_rwsem read;
//   - huge_pmd_unshare() at unmap, under i_mmap_rwsem write: clear our PUD entry and drop
//     our share. Three generations of what follows:
//       none of the features:            nothing (before 1013af4: the GUP-fast race)
//       hugetlb-unshare-sync-per-table:  tlb_remove_table_sync_one() per table (1013af4)
//       hugetlb-unshare-gather:          tlb_unshare_pmd_ptdesc() into the mmu_gather, one
//                                        flush and at most one sync before i_mmap_rwsem is
//                                        dropped, none unless a table became exclusive
//                                        (8ce720d, seed 003)
// Only PMD-sized (2 MiB) pages; a PMD table covers one PUD (1 GiB).
#include <algorithm>

#include "check/invariants.h"
#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/pt_lookup.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

using mm::pfn_t;
using mm::va_t;

constexpr std::uint8_t k_huge_leaf =
    mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_PSE | mm::_PAGE_ACCESSED;

// want_pmd_share(): MAP_SHARED and the whole PUD window lies inside the VMA.
bool want_pmd_share(const mm::vm_area_struct& vma, va_t addr) {
  const va_t base = addr & mm::PUD_MASK;
  return vma.file && base >= vma.vm_start && base + mm::PUD_SIZE <= vma.vm_end;
}

// The PUD entry covering addr, allocating the PUD table if needed (pud_alloc).
sim::task<mm::pt_entry*> pud_alloc(kernel& k, mm::mm_struct& mm, va_t addr) {
  co_await k.step(cost::param::pt_read);
  mm::pt_entry& pgd = k.mem.table(mm.pgd).e[mm::pt_index(addr, 4)];
  if (pgd.none()) co_await pt_populate(k, mm, mm::pud_lockptr(mm), pgd, mm::level::pud);
  co_return &k.mem.table(pgd.pfn).e[mm::pt_index(addr, 3)];
}

// huge_pmd_share(): find another VMA of the file mapping the same window with a PMD table
// and adopt it; otherwise allocate our own (pmd_alloc).
sim::task<> huge_pmd_share(kernel& k, mm::vm_area_struct& vma, va_t addr, mm::pt_entry& pud) {
  mm::mm_struct& mm = *vma.vm_mm;
  mm::address_space& file = *vma.file;
  co_await file.i_mmap_rwsem.down_read(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pmd_share_lookup);
  const va_t idx = vma.pgoff + (addr - vma.vm_start);
  pfn_t spte = 0;
  for (mm::vm_area_struct* svma : file.i_mmap) {
    if (svma == &vma || idx < svma->pgoff) continue;
    const va_t saddr = svma->vm_start + (idx - svma->pgoff);
    if (saddr >= svma->vm_end || (saddr & ~mm::PUD_MASK) != (addr & ~mm::PUD_MASK)) continue;
    if (!want_pmd_share(*svma, saddr)) continue;  // page_table_shareable()
    const mm::pt_entry* spud = mm::lookup_entry(k.mem, *svma->vm_mm, saddr, mm::level::pud);
    if (!spud || !spud->present()) continue;
    spte = spud->pfn;
    ++k.mem[spte].pt_share_count;  // ptdesc_pmd_pts_inc()
    break;
  }
  co_await mm::pud_lockptr(mm).lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);
  if (spte && pud.none()) {
    pud = {spte, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER};
    ++k.stats.pmd_tables_shared;
  } else if (spte) {
    --k.mem[spte].pt_share_count;  // lost a race: someone populated our PUD
  }
  mm::pud_lockptr(mm).unlock(k.eng);
  file.i_mmap_rwsem.up_read(k.eng);
  if (pud.none()) co_await pt_populate(k, mm, mm::pud_lockptr(mm), pud, mm::level::pmd);
}

// huge_pte_alloc(): the PMD table for addr (shared when possible); the entry is
// e[pt_index(addr, 2)] of it.
sim::task<pfn_t> huge_pte_alloc(kernel& k, mm::vm_area_struct& vma, va_t addr) {
  mm::pt_entry* pud = co_await pud_alloc(k, *vma.vm_mm, addr);
  if (pud->none()) {
    if (want_pmd_share(vma, addr))
      co_await huge_pmd_share(k, vma, addr, *pud);
    else
      co_await pt_populate(k, *vma.vm_mm, mm::pud_lockptr(*vma.vm_mm), *pud, mm::level::pmd);
  }
  co_return pud->pfn;
}

// The page cache page of the file at the 2 MiB index of addr (allocated on first use).
pfn_t file_page(kernel& k, mm::vm_area_struct& vma, va_t addr) {
  const std::uint64_t index = (vma.pgoff + (addr - vma.vm_start)) >> mm::PMD_SHIFT;
  auto [it, fresh] = vma.file->pages.try_emplace(index, 0);
  if (fresh) it->second = k.mem.alloc_data(true);  // the page cache's reference
  return it->second;
}

// huge_pmd_unshare(): precondition PTL, i_mmap_rwsem write. Returns true if the table at
// pud was shared and we dropped our share.
sim::task<bool> huge_pmd_unshare(kernel& k, unsigned cpu, mm::mmu_gather& tlb, va_t addr,
                                 mm::pt_entry& pud) {
  const pfn_t table = pud.pfn;
  // mm/hugetlb.c __huge_pmd_unshare (2026 mm tree): an exclusive table is not unshared;
  // the caller zaps its entries and free_pgtables frees it.
  const bool shared = k.mem[table].pt_share_count != 0;  // ptdesc_pmd_is_shared()
  if (!shared && k.knob(patches::knob::hugetlb_unshare_share_check)) co_return false;
  co_await k.step(cost::param::pt_write);  // pud_clear()
  pud = {};
  if (!shared) check::after_pud_clear(k, table, "huge_pmd_unshare: pud_clear");
  ++tlb.mm->pte_change_seq;
  ++k.stats.pmd_tables_unshared;
  tlb.unshared.push_back(table);
  if (k.patch(patches::feature::hugetlb_unshare_gather)) {
    mm::tlb_unshare_pmd_ptdesc(k, tlb, table, addr);
    co_return true;
  }
  // 1013af4: wait for GUP-fast walkers that may still be inside the table before it can
  // become the last sharer's private table.
  if (k.patch(patches::feature::hugetlb_unshare_sync_per_table) &&
      k.knob(patches::knob::hugetlb_unshare_sync))
    co_await mm::tlb_remove_table_sync_one(k, cpu, tlb.mm);
  co_await k.step(cost::param::atomic);
  --k.mem[table].pt_share_count;  // ptdesc_pmd_pts_dec()
  co_return true;
}

// __unmap_hugepage_range(): per 2 MiB page; an unshared PUD window is skipped whole.
sim::task<> unmap_hugepage_range(kernel& k, unsigned cpu, mm::mmu_gather& tlb,
                                 mm::vm_area_struct& vma, va_t start, va_t end) {
  mm::mm_struct& mm = *vma.vm_mm;
  bool force_flush = false;
  for (va_t addr = start; addr < end; addr += mm::PMD_SIZE) {
    co_await k.step(cost::param::pt_read, 2);  // huge_pte_offset()
    mm::pt_entry* pud = mm::lookup_entry(k.mem, mm, addr, mm::level::pud);
    if (!pud || !pud->present()) {
      addr = (addr & mm::PUD_MASK) + mm::PUD_SIZE - mm::PMD_SIZE;  // last_addr_mask
      continue;
    }
    // huge_pte_lock(): the PMD table's lock, shared by every process sharing the table.
    mm::spinlock& ptl = mm::pmd_lockptr(k.mem, pud->pfn);
    co_await ptl.lock(k.eng, k.c(cost::param::atomic));
    if (co_await huge_pmd_unshare(k, cpu, tlb, addr, *pud)) {
      ptl.unlock(k.eng);
      if (!k.patch(patches::feature::hugetlb_unshare_gather)) {
        mm::__tlb_adjust_range(tlb, addr & mm::PUD_MASK, mm::PUD_SIZE);  // tlb_flush_pmd_range
        tlb.cleared_pmds = true;
        force_flush = true;
      }
      addr = (addr & mm::PUD_MASK) + mm::PUD_SIZE - mm::PMD_SIZE;
      continue;
    }
    mm::pt_entry& pmd = k.mem.table(pud->pfn).e[mm::pt_index(addr, 2)];
    if (pmd.none()) {
      // check: the following none entries of this exclusive table in one step (explores()).
      // Nobody else can write them: the VMA is detached (unmap_vmas' callers: munmap, exit),
      // and sharing the table needs i_mmap_rwsem, held here for write.
      if (k.explores() && k.mem[pud->pfn].pt_share_count == 0) {
        const auto& table = k.mem.table(pud->pfn);
        std::int64_t run = 0;
        for (va_t next = addr + mm::PMD_SIZE;
             next < end && (next & mm::PUD_MASK) == (addr & mm::PUD_MASK) &&
             table.e[mm::pt_index(next, 2)].none();
             next += mm::PMD_SIZE)
          ++run;
        // Charged as the iterations it stands for (huge_pte_offset's reads and the PMD read);
        // check runs without time, so the figure only labels the step.
        if (run) co_await k.step(cost::param::pt_read, 3 * run);
        addr += static_cast<va_t>(run) * mm::PMD_SIZE;
      }
      ptl.unlock(k.eng);
      continue;
    }
    co_await k.step(cost::param::pt_write);  // huge_ptep_get_and_clear()
    const pfn_t page = pmd.pfn;
    pmd = {};
    ++mm.pte_change_seq;
    mm::__tlb_adjust_range(tlb, addr, mm::PMD_SIZE);  // tlb_remove_huge_tlb_entry()
    tlb.cleared_pmds = true;
    ptl.unlock(k.eng);
    if (mm::__tlb_remove_page(tlb, page)) co_await mm::tlb_flush_mmu(k, cpu, tlb);
  }
  if (k.patch(patches::feature::hugetlb_unshare_gather)) {
    co_await mm::tlb_flush_unshared_tables(k, cpu, tlb);  // huge_pmd_unshare_flush()
  } else if (force_flush) {
    // 6.x: the unshare flush could not be deferred past i_mmap_rwsem.
    co_await mm::tlb_flush_mmu_tlbonly(k, cpu, tlb);
  }
}

}  // namespace

sim::task<> unmap_hugepage_range_final(kernel& k, unsigned cpu, mm::mmu_gather& tlb,
                                       mm::vm_area_struct& vma, va_t start, va_t end) {
  mm::address_space& file = *vma.file;
  co_await file.i_mmap_rwsem.down_write(k.eng, k.c(cost::param::atomic));
  co_await unmap_hugepage_range(k, cpu, tlb, vma, start, end);
  check::before_i_mmap_unlock(k, tlb);
  tlb.unshared.clear();
  file.i_mmap_rwsem.up_write(k.eng);
}

void unlink_file_vma(mm::vm_area_struct& vma) {
  auto& v = vma.file->i_mmap;
  v.erase(std::remove(v.begin(), v.end(), &vma), v.end());
}

sim::task<bool> hugetlb_fault(kernel& k, mm::vm_area_struct& vma, va_t va) {
  const va_t haddr = va & mm::PMD_MASK;
  const pfn_t table = co_await huge_pte_alloc(k, vma, haddr);
  mm::spinlock& ptl = mm::pmd_lockptr(k.mem, table);  // huge_pte_lock()
  co_await ptl.lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);
  mm::pt_entry& pmd = k.mem.table(table).e[mm::pt_index(haddr, 2)];
  if (pmd.none()) {
    const pfn_t page = file_page(k, vma, haddr);
    ++k.mem[page].refcount;  // the mapping's reference
    pmd = {page, k_huge_leaf};
  }
  ptl.unlock(k.eng);
  co_return true;
}

sim::task<> sys_mmap_hugetlb(kernel& k, unsigned cpu, va_t start, va_t len, mm::address_space& file,
                             va_t pgoff) {
  auto vma = std::make_shared<mm::vm_area_struct>();
  vma->vm_start = start;
  vma->vm_end = start + len;
  vma->kind = mm::vma_kind::hugetlb;
  vma->file = &file;
  vma->pgoff = pgoff;
  co_await mmap_region(k, cpu, std::move(vma));
}

}  // namespace sd::kern
