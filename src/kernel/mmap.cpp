// mmap/munmap/exit of anonymous memory (mm/vma.c, mm/memory.c, mm/mmap.c, v6.12+):
//   munmap: mmap_lock write, detach the VMAs (vma_start_write), downgrade to read, then
//   unmap_region(): tlb_gather_mmu, unmap_vmas (zap), free_pgtables, tlb_finish_mmu.
//   exit_mmap: the same with a fullmm gather over every VMA.
// Only whole-VMA unmaps are modeled (no VMA split).
#include <algorithm>
#include <stdexcept>
#include <utility>

#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

using mm::mmu_gather;
using mm::pfn_t;
using mm::va_t;

// pmd_clear() of a PTE table PT_RECLAIM unhooks, under the lock.
sim::task<> unhook_pte_table(kernel& k, mm::mm_struct& mm, mm::pt_entry& pmd) {
  co_await k.step(cost::param::pt_write);
  pmd = {};
  ++mm.pte_change_seq;
}

// zap_pte_range(): clear each present PTE, add its range to the gather and queue the page.
// When the page batch is full, flush the TLB still under the PTE lock and free the batch
// after dropping it (force_flush). With PT_RECLAIM and a zap that covers the whole table
// (MADV_DONTNEED only: details->reclaim_pt), the emptied table is unhooked and freed through
// the gather (mm/memory.c zap_pte_range, zap_empty_pte_table, zap_pte_table_if_empty; 2026
// mm tree). The PTEs change under the PTE table's lock; the fast path only tries the PMD
// table's lock while it holds that one (lock order: PMD lock first), and when the try fails
// the slow path takes the PMD lock and then the lock of the table the PMD holds, and checks
// that table is empty.
sim::task<> zap_pte_range(kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t pmd_table, pfn_t table,
                          va_t addr, va_t end, bool reclaim_pt) {
  mm::mm_struct& mm = *tlb.mm;
  const va_t start = addr;
  const bool can_reclaim_pt = reclaim_pt && mm::pt_reclaim(k) && end - addr >= mm::PMD_SIZE;
  bool direct_reclaim = true;
  bool unhooked = false;
  mm::pt_entry& pmd = k.mem.table(pmd_table).e[mm::pt_index(start, 2)];
  mm::spinlock& ptl = mm::pte_lockptr(k.mem, table);
  mm::spinlock& pml = mm::pmd_lockptr(k.mem, pmd_table);
  while (addr < end) {
    // A concurrent PT_RECLAIM may have unhooked the table since zap_range read the PMD.
    if (!co_await pte_offset_map_lock(k, cpu, {table, pmd_table, nullptr}, start)) co_return;
    bool force_flush = false;
    std::int64_t empty_reads = 0;
    for (; addr < end; addr += mm::PAGE_SIZE) {
      mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(addr, 1)];
      if (pte.none()) {
        ++empty_reads;
        continue;
      }
      co_await k.step(cost::param::pt_read, empty_reads + 1);
      empty_reads = 0;
      co_await k.step(cost::param::pt_write);  // ptep_get_and_clear_full()
      const pfn_t page = k.mem.table(table).e[mm::pt_index(addr, 1)].pfn;
      k.mem.table(table).e[mm::pt_index(addr, 1)] = {};
      ++mm.pte_change_seq;
      mm::tlb_remove_tlb_entry(tlb, addr);
      if (mm::__tlb_remove_page(tlb, page)) {
        force_flush = true;
        direct_reclaim = false;  // force_break: the PTE lock is dropped midway
        addr += mm::PAGE_SIZE;
        break;
      }
    }
    if (empty_reads) co_await k.step(cost::param::pt_read, empty_reads);
    if (can_reclaim_pt && direct_reclaim && addr == end &&
        co_await pml.try_lock(k.eng, k.c(cost::param::atomic))) {
      co_await unhook_pte_table(k, mm, pmd);  // zap_empty_pte_table()
      pml.unlock(k.eng);
      unhooked = true;
    }
    if (force_flush) co_await mm::tlb_flush_mmu_tlbonly(k, cpu, tlb);
    ptl.unlock(k.eng);
    if (force_flush) co_await mm::tlb_flush_mmu_free(k, cpu, tlb);
  }
  if (!can_reclaim_pt) co_return;
  pfn_t reclaimed = table;
  if (!unhooked) {
    // zap_pte_table_if_empty(): the PMD lock, then the lock of whatever PTE table the PMD
    // holds now (pte_offset_map_rw_nolock), nested; every entry must still be none. That
    // table need not be the one zapped: another PT_RECLAIM may have unhooked it since the
    // PTE lock was dropped and a fault installed a new one, which is reclaimed if it is
    // still empty (the caller frees pmd_pgtable(pmdval); the fault's recheck retries).
    co_await pml.lock(k.eng, k.c(cost::param::atomic));
    if (pmd.present() && !pmd.huge()) {
      reclaimed = pmd.pfn;
      mm::spinlock& now_ptl = mm::pte_lockptr(k.mem, reclaimed);
      co_await now_ptl.lock(k.eng, k.c(cost::param::atomic));
      co_await k.step(cost::param::pt_read, mm::PTRS_PER_TABLE);
      const auto& e = k.mem.table(reclaimed).e;
      unhooked = std::all_of(e.begin(), e.end(), [](const mm::pt_entry& x) { return x.none(); });
      if (unhooked) co_await unhook_pte_table(k, mm, pmd);
      now_ptl.unlock(k.eng);
    }
    pml.unlock(k.eng);
  }
  if (unhooked) co_await mm::free_table_tlb(k, cpu, tlb, reclaimed, mm::level::pte, start);
}

// zap_huge_pmd() for an anonymous THP: clear the PMD, withdraw and free the deposited PTE
// table (no walker can reach it: pte_free at once), queue the huge page in the gather.
sim::task<> zap_huge_pmd(kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t pmd_table, va_t addr) {
  mm::mm_struct& mm = *tlb.mm;
  const va_t haddr = addr & mm::PMD_MASK;
  mm::spinlock& pml = mm::pmd_lockptr(k.mem, pmd_table);  // __pmd_trans_huge_lock()
  co_await pml.lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);  // pmdp_huge_get_and_clear_full()
  mm::pt_entry& pmd = k.mem.table(pmd_table).e[mm::pt_index(haddr, 2)];
  const pfn_t page = pmd.pfn;
  pmd = {};
  ++mm.pte_change_seq;
  mm::__tlb_adjust_range(tlb, haddr, mm::PMD_SIZE);  // tlb_remove_pmd_tlb_entry()
  tlb.cleared_pmds = true;
  if (auto it = mm.deposited.find(haddr); it != mm.deposited.end()) {
    co_await k.step(cost::param::page_free);  // zap_deposited_table(): pte_free()
    mm::pagetable_free(k, it->second, "zap_deposited_table");
    mm.deposited.erase(it);
  }
  const bool full = mm::__tlb_remove_page(tlb, page);
  if (full) co_await mm::tlb_flush_mmu_tlbonly(k, cpu, tlb);
  pml.unlock(k.eng);
  if (full) co_await mm::tlb_flush_mmu_free(k, cpu, tlb);
}

// zap_pmd_range / zap_pud_range / zap_p4d_range, as one recursive walk over present entries.
sim::task<> zap_range(kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t table, unsigned lvl,
                      va_t addr, va_t end, bool reclaim_pt) {
  while (addr < end) {
    const va_t next = mm::entry_addr_end(addr, end, lvl);
    co_await k.step(cost::param::pt_read);
    const mm::pt_entry e = k.mem.table(table).e[mm::pt_index(addr, lvl)];
    if (lvl == 2 && e.huge()) {
      co_await zap_huge_pmd(k, cpu, tlb, table, addr);
    } else if (e.present()) {
      if (lvl == 2)
        co_await zap_pte_range(k, cpu, tlb, table, e.pfn, addr, next, reclaim_pt);
      else
        co_await zap_range(k, cpu, tlb, e.pfn, lvl - 1, addr, next, reclaim_pt);
    }
    addr = next;
  }
}

}  // namespace

sim::task<> unmap_single_vma(kernel& k, unsigned cpu, mmu_gather& tlb, mm::vm_area_struct& vma,
                             va_t start, va_t end, bool reclaim_pt) {
  if (vma.kind == mm::vma_kind::hugetlb)
    co_await unmap_hugepage_range_final(k, cpu, tlb, vma, start, end);
  else
    co_await zap_range(k, cpu, tlb, tlb.mm->pgd, 4, start, end, reclaim_pt);
}

// unmap_vmas(): tlb_start_vma, unmap_page_range, tlb_end_vma per VMA.
sim::task<> unmap_vmas(kernel& k, unsigned cpu, mmu_gather& tlb, const vma_list& vmas) {
  for (const auto& vma : vmas) {
    co_await unmap_single_vma(k, cpu, tlb, *vma, vma->vm_start, vma->vm_end);
    // tlb_end_vma(): flush at each VMA boundary unless the arch merges VMAs, or fullmm.
    if (!tlb.fullmm && !k.arch->merge_vmas()) co_await mm::tlb_flush_mmu_tlbonly(k, cpu, tlb);
  }
}

namespace {

// Whether the level-`lvl` entry for a maps only inside `owned` (the detached VMA's range,
// which nothing else can fault into), so that no other CPU writes it meanwhile.
bool entry_owned(va_t a, unsigned lvl, std::pair<va_t, va_t> owned) {
  const va_t size = va_t{1} << mm::level_shift(lvl);
  const va_t base = a & ~(size - 1);
  return base >= owned.first && base + size <= owned.second && base + size > base;
}

// free_pte_range .. free_pud_range: free lower tables under [addr, end), then the table
// itself when its whole span lies within [floor, ceiling) (mm/memory.c free_pmd_range etc.).
// `owned`: the range of the detached VMA being freed.
sim::task<> free_range(kernel& k, unsigned cpu, mmu_gather& tlb, mm::pt_entry& parent, unsigned lvl,
                       va_t addr, va_t end, va_t floor, va_t ceiling, std::pair<va_t, va_t> owned) {
  const pfn_t table = parent.pfn;
  va_t start = addr;
  if (lvl > 1) {
    for (va_t a = addr; a != end;) {
      va_t next = mm::entry_addr_end(a, end, lvl);
      co_await k.step(cost::param::pt_read);
      mm::pt_table& t = k.mem.table(table);
      mm::pt_entry& e = t.e[mm::pt_index(a, lvl)];
      if (e.present() && !e.huge()) {
        co_await free_range(k, cpu, tlb, e, lvl - 1, a, next, floor, ceiling, owned);
      } else if (k.explores() && k.mem[table].pt_share_count == 0 && entry_owned(a, lvl, owned)) {
        // check: the following entries with no table under them, that nobody else can
        // write (kernel::explores), in one step.
        std::int64_t run = 0;
        while (next != end && entry_owned(next, lvl, owned)) {
          const mm::pt_entry& n = t.e[mm::pt_index(next, lvl)];
          if (n.present() && !n.huge()) break;
          ++run;
          next = mm::entry_addr_end(next, end, lvl);
        }
        if (run) co_await k.step(cost::param::pt_read, run);
      }
      a = next;
    }
  }
  // This table spans the entry of the parent level: check it lies inside [floor, ceiling).
  const va_t span_mask = ~((va_t{1} << mm::level_shift(lvl + 1)) - 1);
  if (lvl > 1) {
    start &= span_mask;
    if (start < floor) co_return;
    if (ceiling) {
      ceiling &= span_mask;
      if (!ceiling) co_return;
    }
    if (end - 1 > ceiling - 1) co_return;
  }
  co_await k.step(cost::param::pt_write);  // p?d_clear(parent)
  parent = {};
  ++tlb.mm->pte_change_seq;
  co_await mm::free_table_tlb(k, cpu, tlb, table, static_cast<mm::level>(lvl), start);
}

// free_pgd_range(): rounds to PMD boundaries against floor and ceiling, then walks.
sim::task<> free_pgd_range(kernel& k, unsigned cpu, mmu_gather& tlb, va_t addr, va_t end,
                           va_t floor, va_t ceiling) {
  const std::pair<va_t, va_t> owned{addr, end};  // the detached VMA's own range
  addr &= mm::PMD_MASK;
  if (addr < floor) {
    addr += mm::PMD_SIZE;
    if (!addr) co_return;
  }
  if (ceiling) {
    ceiling &= mm::PMD_MASK;
    if (!ceiling) co_return;
  }
  if (end - 1 > ceiling - 1) end -= mm::PMD_SIZE;
  if (addr > end - 1) co_return;
  const pfn_t pgd = tlb.mm->pgd;
  for (va_t a = addr; a != end;) {
    const va_t next = mm::entry_addr_end(a, end, 4);
    co_await k.step(cost::param::pt_read);
    mm::pt_entry& e = k.mem.table(pgd).e[mm::pt_index(a, 4)];
    if (e.present()) co_await free_range(k, cpu, tlb, e, 3, a, next, floor, ceiling, owned);
    a = next;
  }
}

}  // namespace

// free_pgtables() for a list of adjacent-in-tree VMAs between floor and ceiling. File VMAs
// leave the file's i_mmap tree here (unlink_file_vma_batch).
sim::task<> free_pgtables(kernel& k, unsigned cpu, mmu_gather& tlb, const vma_list& vmas,
                          va_t floor, va_t ceiling) {
  for (std::size_t i = 0; i < vmas.size(); ++i) {
    if (vmas[i]->file) unlink_file_vma(*vmas[i]);
    const va_t next_start = i + 1 < vmas.size() ? vmas[i + 1]->vm_start : ceiling;
    co_await free_pgd_range(k, cpu, tlb, vmas[i]->vm_start, vmas[i]->vm_end, floor, next_start);
  }
}

sim::task<> mmap_region(kernel& k, unsigned cpu, std::shared_ptr<mm::vm_area_struct> vma) {
  mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  co_await mm.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::atomic);
  if (mm.find_vma(vma->vm_start) || mm.find_vma(vma->vm_end - 1))
    throw std::logic_error("model workload bug: MAP_FIXED over an existing VMA");
  vma->vm_mm = &mm;
  if (vma->file) {
    co_await vma->file->i_mmap_rwsem.down_write(k.eng, k.c(cost::param::atomic));
    vma->file->i_mmap.push_back(vma.get());  // vma_link_file()
    vma->file->i_mmap_rwsem.up_write(k.eng);
  }
  mm.vmas.emplace(vma->vm_start, std::move(vma));
  mm.mmap_lock.up_write(k.eng);
  k.cpus[cpu].mode = hw::cpu_mode::user;
}

sim::task<> sys_mmap(kernel& k, unsigned cpu, va_t start, va_t len) {
  auto vma = std::make_shared<mm::vm_area_struct>();
  vma->vm_start = start;
  vma->vm_end = start + len;
  co_await mmap_region(k, cpu, std::move(vma));
}

sim::task<> sys_munmap(kernel& k, unsigned cpu, va_t start, va_t len) {
  trace_scope ts(k, cpu, "munmap");
  mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  const va_t end = start + len;
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  co_await mm.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));

  const vma_list victims = mm.vmas_overlapping(start, end);
  for (const auto& vma : victims)
    if (vma->vm_start < start || vma->vm_end > end)
      throw std::logic_error("munmap of part of a VMA is not modeled (no VMA split)");
  if (victims.empty()) {
    mm.mmap_lock.up_write(k.eng);
    co_return;
  }
  for (const auto& vma : victims) {
    co_await vma->vm_lock.down_write(k.eng, k.c(cost::param::atomic));  // vma_start_write()
    vma->detached = true;
    mm.vmas.erase(vma->vm_start);
    vma->vm_lock.up_write(k.eng);
  }
  // floor and ceiling for free_pgtables: the neighbours' bounds.
  auto next = mm.vmas.lower_bound(end);
  const va_t ceiling = next == mm.vmas.end() ? 0 : next->first;  // USER_PGTABLES_CEILING
  va_t floor = 0;                                                // FIRST_USER_ADDRESS
  if (next != mm.vmas.begin()) floor = std::prev(next)->second->vm_end;
  mm.mmap_lock.downgrade_write(k.eng);

  mmu_gather tlb;
  mm::tlb_gather_mmu(tlb, mm, false);
  co_await unmap_vmas(k, cpu, tlb, victims);
  co_await free_pgtables(k, cpu, tlb, victims, floor, ceiling);
  co_await mm::tlb_finish_mmu(k, cpu, tlb);
  mm.mmap_lock.up_read(k.eng);
  k.cpus[cpu].mode = hw::cpu_mode::user;
}

sim::task<> mmput_last(kernel& k, unsigned cpu) {
  trace_scope ts(k, cpu, "exit_mmap");
  hw::cpu& c = k.cpus[cpu];
  mm::mm_struct& mm = *c.current_mm;
  c.mode = hw::cpu_mode::kernel;
  // kernel/exit.c exit_mm(): current->mm = NULL and enter_lazy_tlb() with IRQs off, then
  // mmput(): exit_mmap runs on a CPU that holds the mm lazily. On x86 its first flush
  // switches it to init_mm (flush_tlb_func's is_lazy check) and later flushes of the exit
  // do nothing locally.
  c.current_mm = nullptr;
  k.arch->enter_lazy_tlb(k, cpu);
  // exit_mmap(): a fullmm gather over everything; the mm has no other users.
  co_await mm.mmap_lock.down_write(k.eng, k.c(cost::param::atomic));
  vma_list all;
  for (auto& [start, vma] : mm.vmas) all.push_back(vma);
  mmu_gather tlb;
  mm::tlb_gather_mmu(tlb, mm, true);
  co_await unmap_vmas(k, cpu, tlb, all);
  co_await free_pgtables(k, cpu, tlb, all, 0, 0);
  co_await mm::tlb_finish_mmu(k, cpu, tlb);
  for (auto& vma : all) vma->detached = true;
  mm.vmas.clear();
  mm.exited = true;
  mm.mmap_lock.up_write(k.eng);

  // The exiting CPU leaves the mm (if no flush did already: then it schedules away and the
  // lazy reference is dropped); mmdrop() frees the pgd once no CPU has it loaded. Another
  // CPU still holding it lazily keeps it alive (lazy-TLB mm refcount), so it is left alone.
  co_await leave_mm(k, cpu);
  bool loaded = false;
  for (const auto& c : k.cpus) loaded = loaded || c.loaded_mm == &mm;
  if (!loaded) {
    co_await k.step(cost::param::page_free);
    mm::pagetable_free(k, mm.pgd, "mmdrop (pgd_free)");
    mm.pgd = 0;
  }
}

}  // namespace sd::kern
