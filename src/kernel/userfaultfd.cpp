// ioctl(UFFDIO_MOVE) of present anonymous pages (mm/userfaultfd.c move_pages ->
// move_pages_pte -> move_present_ptes, kernel-mechanisms s7). Under mmap_lock read, per
// PMD step and with both PTE locks held (double_pt_lock):
//   without uffd-move-batch: one page per call: ptep_clear_flush(src) -- a TLB flush per
//     page -- then set the destination PTE;
//   with it (5094469): a batch of contiguous qualifying pages bounded by the end of the
//     source and destination PMDs (two pmd_addr_end()); every source PTE cleared and every
//     destination PTE set, then ONE flush_tlb_range over the moved source range.
// The model's pages always qualify for batching (small, exclusive, same anon_vma, trylock
// succeeds); a source hole ends the batch and is skipped (UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES).
#include <algorithm>

#include "kernel/paths.h"
#include "kernel/zap.h"
#include "mm/ptlock.h"

namespace sd::kern {

namespace {

using mm::va_t;

// double_pt_lock() / double_pt_unlock() for the PTE tables a and b: both tables' locks, in
// the order of the locks' addresses to avoid an inversion (the model orders them by pfn, so
// that runs are deterministic), one lock when both ranges share a table.
sim::task<> double_pt_lock(kernel& k, mm::pfn_t a, mm::pfn_t b) {
  co_await mm::pte_lockptr(k.mem, std::min(a, b)).lock(k.eng, k.c(cost::param::atomic));
  if (a != b) co_await mm::pte_lockptr(k.mem, std::max(a, b)).lock(k.eng, k.c(cost::param::atomic));
}
void double_pt_unlock(kernel& k, mm::pfn_t a, mm::pfn_t b) {
  mm::pte_lockptr(k.mem, a).unlock(k.eng);
  if (a != b) mm::pte_lockptr(k.mem, b).unlock(k.eng);
}

// What move_present_ptes() did: moved pages (0: a source hole), or `again` when the
// destination's PMD changed before the locks were taken.
constexpr va_t k_again = ~va_t{0};

// Moves up to `nr` pages from src to dst under both PTE locks; returns how many it moved
// (it stops at a source hole), or k_again. The caller maps both tables (RCU read side).
sim::task<va_t> move_present_ptes(kernel& k, unsigned cpu, mm::mm_struct& mm,
                                  const pte_table_ref& d, mm::pfn_t src_table, va_t dst, va_t src,
                                  va_t nr) {
  const bool batch = k.patch(patches::feature::uffd_move_batch);
  const mm::pfn_t dst_table = d.table;
  co_await double_pt_lock(k, dst_table, src_table);
  // is_pte_pages_stable(): the destination PMD must still point at the table. An empty
  // destination table can be unhooked meanwhile (PT_RECLAIM, zap_empty_pte_table): the
  // kernel returns -EAGAIN and move_pages() retries the step. (The source needs no PMD
  // check: its PTEs are read under the lock, and a reclaimed table had none.)
  if (!mm::pmd_points_at(k.mem, d.pmd_table, dst, dst_table)) {
    double_pt_unlock(k, dst_table, src_table);
    co_return k_again;
  }
  va_t moved = 0;
  for (; moved < nr; ++moved) {
    const va_t s = src + moved * mm::PAGE_SIZE;
    const va_t d = dst + moved * mm::PAGE_SIZE;
    co_await k.step(cost::param::pt_read, 2);
    mm::pt_entry& spte = k.mem.table(src_table).e[mm::pt_index(s, 1)];
    mm::pt_entry& dpte = k.mem.table(dst_table).e[mm::pt_index(d, 1)];
    if (!spte.present() || !dpte.none()) break;
    co_await k.step(cost::param::page_move);  // vm_normal_folio, folio lock, rmap move
    co_await k.step(cost::param::pt_write);   // get_and_clear src
    const mm::pt_entry e = spte;
    spte = {};
    ++mm.pte_change_seq;
    if (!batch) co_await k.arch->flush_tlb_page(k, cpu, mm, s);  // ptep_clear_flush()
    co_await k.step(cost::param::pt_write);                      // set_pte_at(dst)
    dpte = e;
    if (!batch) {
      ++moved;
      break;
    }
  }
  if (batch && moved)
    co_await k.arch->flush_tlb_range(k, cpu, mm, src, src + moved * mm::PAGE_SIZE);
  double_pt_unlock(k, dst_table, src_table);
  k.stats.pages_moved += moved;
  co_return moved;
}

}  // namespace

sim::task<> uffdio_move(kernel& k, unsigned cpu, va_t dst, va_t src, va_t len) {
  trace_scope ts(k, cpu, "uffdio_move");
  mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  co_await mm.mmap_lock.down_read(k.eng, k.c(cost::param::atomic));
  const va_t end = src + len;
  while (src < end) {
    // move_pages_pte() for one step bounded by both PMDs.
    const va_t step_end = std::min({end, mm::entry_addr_end(src, end, 2),
                                    src + (mm::entry_addr_end(dst, dst + (end - src), 2) - dst)});
    const va_t nr = (step_end - src) >> mm::PAGE_SHIFT;
    const pte_table_ref s = co_await pte_alloc(k, mm, src);
    const pte_table_ref d = co_await pte_alloc(k, mm, dst);
    if (s.huge || d.huge) throw std::logic_error("model limit: UFFDIO_MOVE of a THP");
    // move_pages_ptes() maps both tables (pte_offset_map_rw_nolock: rcu_read_lock, then the
    // PMD read) and keeps them mapped until pte_unmap, so a table unhooked meanwhile is not
    // freed under it. The source PMD read by pte_alloc must still hold; else the step is
    // retried (-EAGAIN from a NULL map).
    k.rcu.reader_enter(k, cpu);
    if (!mm::pmd_points_at(k.mem, s.pmd_table, src, s.table)) {
      k.rcu.reader_exit(k, cpu);
      continue;
    }
    va_t done = 0;
    bool again = false;
    while (done < nr) {
      const va_t moved =
          co_await move_present_ptes(k, cpu, mm, d, s.table, dst + done * mm::PAGE_SIZE,
                                     src + done * mm::PAGE_SIZE, nr - done);
      if (moved == k_again) {
        again = true;
        break;
      }
      done += moved ? moved : 1;  // a hole: skip the page
    }
    k.rcu.reader_exit(k, cpu);  // pte_unmap()
    src += done * mm::PAGE_SIZE;
    dst += done * mm::PAGE_SIZE;
    if (again) continue;  // move_pages(): -EAGAIN retries from the same addresses
  }
  mm.mmap_lock.up_read(k.eng);
  k.cpus[cpu].mode = hw::cpu_mode::user;
}

}  // namespace sd::kern
