// mm/memory.c handle_mm_fault() for private anonymous memory: allocate missing tables
// (__pud_alloc/__pmd_alloc/__pte_alloc under page_table_lock, losing races gracefully), then
// do_anonymous_page() under the PTE lock. The VMA is found and held under the per-VMA lock
// (lock_vma_under_rcu) so a concurrent munmap either waits for us or we see it detached.
//
// Simplification: one spinlock (mm->page_table_lock) stands for the split PTE locks.
#include "kernel/paths.h"

namespace sd::kern {

sim::task<bool> handle_mm_fault(kernel& k, unsigned cpu, mm::va_t va, bool /*write*/) {
  hw::cpu& c = k.cpus[cpu];
  mm::mm_struct& mm = *c.current_mm;
  c.mode = hw::cpu_mode::kernel;
  ++k.stats.page_faults;
  co_await k.step(cost::param::exception_entry);
  co_await k.step(cost::param::pt_read);  // find the VMA
  auto it = mm.vmas.upper_bound(va);
  std::shared_ptr<mm::vm_area_struct> vma;
  if (it != mm.vmas.begin() && va < std::prev(it)->second->vm_end) vma = std::prev(it)->second;
  if (!vma) co_return false;
  co_await vma->vm_lock.down_read(k.eng, k.c(cost::param::atomic));
  if (vma->detached) {
    vma->vm_lock.up_read(k.eng);
    co_return false;
  }

  mm::pfn_t table = mm.pgd;
  for (unsigned lvl = 4; lvl > 1; --lvl) {
    co_await k.step(cost::param::pt_read);
    const unsigned idx = mm::pt_index(va, lvl);
    if (k.mem.table(table).e[idx].none()) {
      co_await k.step(cost::param::page_alloc);
      const mm::pfn_t fresh = k.mem.alloc_table(static_cast<mm::level>(lvl - 1), mm.id);
      co_await mm.page_table_lock.lock(k.eng, k.c(cost::param::atomic));
      co_await k.step(cost::param::pt_write);
      mm::pt_entry& e = k.mem.table(table).e[idx];
      if (e.none())
        e = {fresh, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER};
      else
        k.mem.free(fresh);  // another thread populated it first
      mm.page_table_lock.unlock(k.eng);
    }
    table = k.mem.table(table).e[idx].pfn;
  }

  co_await k.step(cost::param::page_alloc);
  const mm::pfn_t page = k.mem.alloc_data();
  co_await mm.page_table_lock.lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);
  mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(va, 1)];
  if (pte.none()) {
    pte = {page, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_ACCESSED |
                     mm::_PAGE_DIRTY};
  } else {
    k.mem.free(page);
  }
  mm.page_table_lock.unlock(k.eng);
  vma->vm_lock.up_read(k.eng);
  c.mode = hw::cpu_mode::user;
  co_return true;
}

}  // namespace sd::kern
