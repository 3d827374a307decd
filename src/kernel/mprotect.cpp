// mprotect() between PROT_NONE and PROT_READ|PROT_WRITE of whole anonymous VMAs
// (mm/mprotect.c mprotect_fixup -> change_protection -> change_pte_range, v6.x with the
// mmu_gather): under mmap_lock write and the VMA write lock, each PTE gets the new
// protection and is added to the gather only if the arch's pte_needs_flush(old, new)
// says so; tlb_finish_mmu flushes what was gathered.
//   PROT_NONE PTE: _PAGE_PROTNONE set, PRESENT clear (the hardware faults; the page stays).
//   back to RW:    present, writable if the page is exclusive (can_change_pte_writable),
//                  else read-only until a write fault reuses it.
#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

using mm::va_t;

sim::task<> change_pte_range(kernel& k, mm::mmu_gather& tlb, mm::pfn_t table, va_t addr, va_t end,
                             bool prot_none) {
  mm::mm_struct& mm = *tlb.mm;
  mm::spinlock& ptl = mm::pte_lockptr(k.mem, table);  // pte_offset_map_lock()
  co_await ptl.lock(k.eng, k.c(cost::param::atomic));
  for (; addr < end; addr += mm::PAGE_SIZE) {
    co_await k.step(cost::param::pt_read);
    mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(addr, 1)];
    if (!pte.pfn) continue;
    const mm::pt_entry old = pte;
    constexpr std::uint8_t keep = mm::_PAGE_ACCESSED | mm::_PAGE_DIRTY;
    mm::pt_entry next{old.pfn, static_cast<std::uint8_t>(old.flags & keep)};
    if (prot_none) {
      next.flags |= mm::_PAGE_PROTNONE;
    } else {
      next.flags |= mm::_PAGE_PRESENT | mm::_PAGE_USER;
      if (k.mem[old.pfn].refcount == 1) next.flags |= mm::_PAGE_RW;
    }
    if (next == old) continue;
    co_await k.step(cost::param::pt_write);  // ptep_modify_prot_commit()
    pte = next;
    ++mm.pte_change_seq;
    if (k.arch->pte_needs_flush(k, old, next)) mm::tlb_remove_tlb_entry(tlb, addr);
  }
  ptl.unlock(k.eng);
}

// change_pmd_range() and up: walk present tables of [addr, end).
sim::task<> change_range(kernel& k, mm::mmu_gather& tlb, mm::pfn_t table, unsigned lvl, va_t addr,
                         va_t end, bool prot_none) {
  while (addr < end) {
    const va_t next = mm::entry_addr_end(addr, end, lvl);
    co_await k.step(cost::param::pt_read);
    const mm::pt_entry e = k.mem.table(table).e[mm::pt_index(addr, lvl)];
    if (lvl == 2 && e.huge())
      throw std::logic_error("model limit: mprotect of a THP-mapped range is not modeled");
    if (e.present()) {
      if (lvl == 2)
        co_await change_pte_range(k, tlb, e.pfn, addr, next, prot_none);
      else
        co_await change_range(k, tlb, e.pfn, lvl - 1, addr, next, prot_none);
    }
    addr = next;
  }
}

}  // namespace

sim::task<> sys_mprotect(kernel& k, unsigned cpu, va_t start, va_t len, bool prot_none) {
  trace_scope ts(k, cpu, "mprotect");
  mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  const va_t end = start + len;
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  co_await mm.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));
  const vma_list targets = mm.vmas_overlapping(start, end);
  for (const auto& vma : targets)
    if (vma->vm_start < start || vma->vm_end > end || vma->kind != mm::vma_kind::anon)
      throw std::logic_error("model limit: mprotect of part of a VMA or of hugetlb");
  mm::mmu_gather tlb;
  mm::tlb_gather_mmu(tlb, mm, false);
  for (const auto& vma : targets) {
    co_await k.step(cost::param::mprotect_vma);  // vma_modify_flags(), merge, vm_page_prot
    co_await vma->vm_lock.down_write(k.eng, k.c(cost::param::atomic));
    vma->prot_none = prot_none;
    co_await change_range(k, tlb, mm.pgd, 4, vma->vm_start, vma->vm_end, prot_none);
  }
  co_await mm::tlb_finish_mmu(k, cpu, tlb);
  for (const auto& vma : targets) vma->vm_lock.up_write(k.eng);  // at mmap_write_unlock
  mm.mmap_lock.up_write(k.eng);
  k.cpus[cpu].mode = hw::cpu_mode::user;
}

}  // namespace sd::kern
