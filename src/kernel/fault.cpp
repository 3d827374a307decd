// mm/memory.c handle_mm_fault() for anonymous and hugetlb memory:
//   - missing tables are allocated under the lock of the entry they go into (losing races
//     gracefully), then do_anonymous_page() maps a fresh page;
//   - a write to a read-only PTE is do_wp_page(): reuse the page if it is exclusive
//     (wp_page_reuse: make the PTE writable, then the arch's ptep_set_access_flags flush),
//     else copy it (wp_page_copy: ptep_clear_flush, map the copy);
//   - a fault whose PTE already allows the access is spurious:
//     flush_tlb_fix_spurious_fault() for a write fault (arm64: nothing before Huang Ying's
//     patch, a local flush after it).
// The VMA is found and held under the per-VMA lock (lock_vma_under_rcu) so a concurrent
// munmap either waits for us or we see it detached.
//
// PTEs change under the PTE table's own lock, and a PTE table is installed under the PMD
// table's lock (split page-table locks, mm/ptlock.h).
#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/mmu_gather.h"
#include "mm/pt_lookup.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

constexpr std::uint8_t k_anon_rw =
    mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_ACCESSED | mm::_PAGE_DIRTY;

// do_wp_page(), called with the PTE lock held; returns with it released.
sim::task<> do_wp_page(kernel& k, unsigned cpu, mm::mm_struct& mm, const pte_table_ref& ref,
                       mm::spinlock& ptl, mm::va_t va) {
  const mm::pfn_t table = ref.table;
  mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(va, 1)];
  const mm::pfn_t old = pte.pfn;
  if (k.mem[old].refcount == 1) {  // wp_can_reuse_anon_folio(): nobody else maps it
    co_await k.step(cost::param::pt_write);
    pte.flags |= mm::_PAGE_RW | mm::_PAGE_DIRTY;
    ++k.stats.wp_reuse_faults;
    co_await k.arch->ptep_set_access_flags(k, cpu, mm, va);
    ptl.unlock(k.eng);
    co_return;
  }
  // wp_page_copy(): allocate and copy outside the lock, then recheck the PTE.
  const mm::pt_entry seen = pte;
  ptl.unlock(k.eng);
  co_await k.step(cost::param::page_alloc);
  const mm::pfn_t fresh = k.mem.alloc_data();
  co_await k.step(cost::param::page_copy);
  mm::spinlock* relocked = co_await pte_offset_map_lock(k, cpu, ref, va);
  mm::pt_entry& now = k.mem.table(table).e[mm::pt_index(va, 1)];
  if (!relocked || now != seen) {  // someone else resolved it
    k.mem.free(fresh);
    if (relocked) relocked->unlock(k.eng);
    co_return;
  }
  co_await k.step(cost::param::pt_write);  // ptep_clear_flush()
  now = {};
  ++mm.pte_change_seq;
  co_await k.arch->flush_tlb_page(k, cpu, mm, va);
  co_await k.step(cost::param::pt_write);
  now = {fresh, k_anon_rw};
  ++k.stats.wp_copy_faults;
  relocked->unlock(k.eng);
  mm::put_page(k, old, "wp_page_copy");
}

sim::task<bool> do_anon_fault(kernel& k, unsigned cpu, mm::mm_struct& mm, mm::va_t va, bool write) {
  const pte_table_ref ref = co_await pte_alloc(k, mm, va);
  if (ref.huge) {
    // A THP mapped by the PMD: the hardware walk would have succeeded unless this was a
    // write to a read-only THP (huge CoW is not modeled; no scenario creates one).
    if (write && !ref.huge->writable())
      throw std::logic_error("model limit: write fault on a read-only THP is not modeled");
    ++k.stats.spurious_faults;
    co_return true;
  }
  const mm::pfn_t table = ref.table;

  mm::spinlock* ptl = co_await pte_offset_map_lock(k, cpu, ref, va);
  if (!ptl) co_return true;
  co_await k.step(cost::param::pt_read);
  mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(va, 1)];
  if (pte.present()) {
    if (write && !pte.writable()) {
      co_await do_wp_page(k, cpu, mm, ref, *ptl, va);  // releases the lock
      co_return true;
    }
    ++k.stats.spurious_faults;
    ptl->unlock(k.eng);
    // mm/memory.c handle_pte_fault(): ptep_set_access_flags() changed nothing (the model has
    // no accessed/dirty bits to set), so flush_tlb_fix_spurious_fault() -- for write faults
    // only.
    if (write) co_await k.arch->flush_tlb_fix_spurious_fault(k, cpu, mm, va);
    co_return true;
  }
  ptl->unlock(k.eng);

  // do_anonymous_page()
  co_await k.step(cost::param::page_alloc);
  const mm::pfn_t page = k.mem.alloc_data();
  ptl = co_await pte_offset_map_lock(k, cpu, ref, va);
  if (!ptl) {
    k.mem.free(page);
    co_return true;
  }
  co_await k.step(cost::param::pt_write);
  mm::pt_entry& now = k.mem.table(table).e[mm::pt_index(va, 1)];
  if (now.none())
    now = {page, k_anon_rw};
  else
    k.mem.free(page);
  ptl->unlock(k.eng);
  co_return true;
}

}  // namespace

// pte_offset_map_lock() (mm/pgtable-generic.c __pte_offset_map_lock, 2026 mm tree): map the
// table (__pte_offset_map: rcu_read_lock, then read the PMD), take the PTE table's lock,
// then check that the PMD entry still points at the table, since PT_RECLAIM may have
// unhooked it meanwhile (it unhooks holding this lock). The RCU section keeps a table
// unhooked after the map from being freed while the fault waits for its lock. Returns the
// lock, held, or null: the fault returns and the access faults again.
sim::task<mm::spinlock*> pte_offset_map_lock(kernel& k, unsigned cpu, const pte_table_ref& ref,
                                             mm::va_t va) {
  k.rcu.reader_enter(k, cpu);
  // The map reads the PMD again: a table unhooked since pte_alloc read it is not mapped
  // (the kernel maps whatever table the PMD holds now; the model faults again to find it).
  if (!mm::pmd_points_at(k.mem, ref.pmd_table, va, ref.table)) {
    k.rcu.reader_exit(k, cpu);
    co_return nullptr;
  }
  mm::spinlock& ptl = mm::pte_lockptr(k.mem, ref.table);
  co_await ptl.lock(k.eng, k.c(cost::param::atomic));
  const bool same = mm::pmd_points_at(k.mem, ref.pmd_table, va, ref.table);
  if (!same) ptl.unlock(k.eng);
  // The kernel stays in the section until pte_unmap_unlock. Once the lock is held with the
  // PMD pointing at the table, nothing can unhook it (every unhook takes this lock), so the
  // model leaves the section here.
  k.rcu.reader_exit(k, cpu);
  co_return same ? &ptl : nullptr;
}

sim::task<> pt_populate(kernel& k, mm::mm_struct& mm, mm::spinlock& ptl, mm::pt_entry& entry,
                        mm::level lvl) {
  co_await k.step(cost::param::page_alloc);
  const mm::pfn_t fresh = k.mem.alloc_table(lvl, mm.id);
  co_await ptl.lock(k.eng, k.c(cost::param::atomic));
  co_await k.step(cost::param::pt_write);
  if (entry.none())
    entry = {fresh, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER};
  else
    k.mem.free(fresh);  // another thread populated it first
  ptl.unlock(k.eng);
}

sim::task<pte_table_ref> pte_alloc(kernel& k, mm::mm_struct& mm, mm::va_t va) {
  mm::pfn_t table = mm.pgd;
  for (unsigned lvl = 4; lvl > 2; --lvl) {
    co_await k.step(cost::param::pt_read);
    mm::pt_entry& e = k.mem.table(table).e[mm::pt_index(va, lvl)];
    if (e.none())  // __pud_alloc, __pmd_alloc
      co_await pt_populate(k, mm, mm::pud_lockptr(mm), e, static_cast<mm::level>(lvl - 1));
    table = e.pfn;
  }
  co_await k.step(cost::param::pt_read);
  mm::pt_entry& pmd = k.mem.table(table).e[mm::pt_index(va, 2)];
  if (pmd.huge()) co_return pte_table_ref{0, table, &pmd};
  if (pmd.none())  // __pte_alloc -> pmd_install()
    co_await pt_populate(k, mm, mm::pmd_lockptr(k.mem, table), pmd, mm::level::pte);
  co_return pte_table_ref{pmd.pfn, table, nullptr};
}

namespace {

// lock_vma_under_rcu()'s lookup of the VMA containing va (a maple-tree walk in the kernel;
// the model charges it one pt_read). The model's tree of VMAs holds one per worker in the
// large scenarios (1,024 at 1,024 CPUs), and walking it missed the cache at every level:
// 4% of munmap-free-tables arm64 at 1,024 CPUs. A worker faults in its own VMA again and
// again, so the VMA the CPU's last fault found is tried first. It is the tree's answer when
// it is still attached to this mm (every removal from the tree detaches it first:
// mmap.cpp) and contains va, since the tree's VMAs do not overlap.
std::shared_ptr<mm::vm_area_struct> find_fault_vma(kernel& k, unsigned cpu, mm::mm_struct& mm,
                                                   mm::va_t va) {
  std::shared_ptr<mm::vm_area_struct>& last = k.last_fault_vma[cpu];
  if (last && !last->detached && last->vm_mm == &mm && last->vm_start <= va && va < last->vm_end)
    return last;
  const auto it = mm.vma_entry(va);
  if (it == mm.vmas.end()) return nullptr;
  last = it->second;
  return last;
}

}  // namespace

bool fault_would_be_spurious(kernel& k, unsigned cpu, mm::va_t va, bool write) {
  const mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  const mm::vm_area_struct* vma = mm.find_vma(va);
  // No VMA, PROT_NONE, or hugetlb (not followed here): not a spurious anonymous fault.
  if (!vma || vma->detached || vma->prot_none || vma->kind == mm::vma_kind::hugetlb) return false;
  const mm::pt_entry* leaf = mm::lookup_leaf(k.mem, mm, va);
  // mm/memory.c handle_pte_fault() on a present entry that allows the access (do_anon_fault
  // above): ptep_set_access_flags() changes nothing (the accessed and dirty bits are not
  // modeled), and a write's flush_tlb_fix_spurious_fault() drops at most this CPU's leaf
  // entry for va (empty on x86; arm64 with the wp-reuse patch: TLBI VALE1, arm64.cpp).
  return leaf && leaf->present() && (!write || leaf->writable());
}

sim::task<bool> handle_mm_fault(kernel& k, unsigned cpu, mm::va_t va, bool write) {
  trace_scope ts(k, cpu, "page_fault");
  hw::cpu& c = k.cpus[cpu];
  mm::mm_struct& mm = *c.current_mm;
  c.mode = hw::cpu_mode::kernel;
  ++k.stats.page_faults;
  co_await k.step(cost::param::exception_entry);
  co_await k.step(cost::param::pt_read);  // find the VMA
  const std::shared_ptr<mm::vm_area_struct> vma = find_fault_vma(k, cpu, mm, va);
  if (!vma) co_return false;
  co_await vma->vm_lock.down_read(k.eng, k.c(cost::param::atomic));
  bool ok = false;
  if (!vma->detached && !vma->prot_none) {  // PROT_NONE: SIGSEGV
    if (vma->kind == mm::vma_kind::hugetlb)
      ok = co_await hugetlb_fault(k, *vma, va);
    else
      ok = co_await do_anon_fault(k, cpu, mm, va, write);
  }
  vma->vm_lock.up_read(k.eng);
  c.mode = hw::cpu_mode::user;
  co_return ok;
}

}  // namespace sd::kern
