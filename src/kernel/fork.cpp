// fork()'s address-space copy (kernel/fork.c / mm/mmap.c dup_mmap, mm/memory.c
// copy_page_range): with mmap_lock held for write and every VMA write-locked, each VMA is
// duplicated; private anonymous PTEs are copied with the write bit cleared in parent and
// child (CoW) and the page's refcount raised. A MAP_SHARED hugetlb VMA is not copied at all:
// vma_needs_copy() is false for it (no anon_vma, no VM_COPY_ON_FORK; since v6.0,
// bcd51a3c679d "hugetlb: lazy page table copies in fork()"), so the child shares a PMD table
// only when it first faults in that PUD window (hugetlb_fault -> huge_pte_alloc ->
// huge_pmd_share). Then flush_tlb_mm(oldmm): the parent's CPUs may still hold writable
// entries for pages that are now read-only.
#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

using mm::pfn_t;
using mm::va_t;

// copy_pte_range() etc. as one walk over the parent's present entries of [addr, end).
sim::task<> copy_range(kernel& k, mm::mm_struct& dst, mm::mm_struct& src, pfn_t table, unsigned lvl,
                       va_t addr, va_t end) {
  while (addr < end) {
    const va_t next = mm::entry_addr_end(addr, end, lvl);
    co_await k.step(cost::param::pt_read);
    mm::pt_entry& e = k.mem.table(table).e[mm::pt_index(addr, lvl)];
    if (lvl == 2 && e.huge())
      throw std::logic_error("model limit: fork of a THP-mapped range is not modeled");
    if (lvl > 1 && e.present()) co_await copy_range(k, dst, src, e.pfn, lvl - 1, addr, next);
    if (lvl == 1 && e.pfn) {  // present or PROT_NONE: the page is shared either way
      // pte_alloc_map_lock() of the child's table, then the parent's PTE lock nested.
      const pte_table_ref ref = co_await pte_alloc(k, dst, addr);
      mm::spinlock& dst_ptl = mm::pte_lockptr(k.mem, ref.table);
      mm::spinlock& src_ptl = mm::pte_lockptr(k.mem, table);
      co_await dst_ptl.lock(k.eng, k.c(cost::param::atomic));
      co_await src_ptl.lock(k.eng, k.c(cost::param::atomic));
      co_await k.step(cost::param::pt_write, 2);  // ptep_set_wrprotect(src) + set_pte(dst)
      e.flags &= static_cast<std::uint8_t>(~mm::_PAGE_RW);
      ++src.pte_change_seq;
      k.mem.table(ref.table).e[mm::pt_index(addr, 1)] = e;
      ++k.mem[e.pfn].refcount;
      src_ptl.unlock(k.eng);
      dst_ptl.unlock(k.eng);
    }
    addr = next;
  }
}

}  // namespace

sim::task<> sys_fork(kernel& k, unsigned cpu, mm::mm_struct& child) {
  trace_scope ts(k, cpu, "fork");
  hw::cpu& c = k.cpus[cpu];
  mm::mm_struct& old = *c.current_mm;
  c.mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  co_await old.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));
  std::vector<mm::vm_area_struct*> locked;
  for (auto& [start, vma] : old.vmas) {
    co_await vma->vm_lock.down_write(k.eng, k.c(cost::param::atomic));  // vma_start_write()
    locked.push_back(vma.get());
    co_await k.step(cost::param::vma_dup);
    auto nv = std::make_shared<mm::vm_area_struct>();
    nv->vm_start = vma->vm_start;
    nv->vm_end = vma->vm_end;
    nv->vm_mm = &child;
    nv->kind = vma->kind;
    nv->prot_none = vma->prot_none;
    nv->file = vma->file;
    nv->pgoff = vma->pgoff;
    if (nv->file) {
      co_await nv->file->i_mmap_rwsem.down_write(k.eng, k.c(cost::param::atomic));
      nv->file->i_mmap.push_back(nv.get());
      nv->file->i_mmap_rwsem.up_write(k.eng);
    }
    child.vmas.emplace(nv->vm_start, nv);
    if (vma->kind != mm::vma_kind::hugetlb)  // hugetlb: MAP_SHARED, vma_needs_copy() false
      co_await copy_range(k, child, old, old.pgd, 4, vma->vm_start, vma->vm_end);
  }
  co_await k.arch->flush_tlb_mm(k, cpu, old);
  for (auto* vma : locked) vma->vm_lock.up_write(k.eng);  // vma_end_write_all()
  old.mmap_lock.up_write(k.eng);
  c.mode = hw::cpu_mode::user;
}

}  // namespace sd::kern
