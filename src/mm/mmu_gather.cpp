#include "mm/mmu_gather.h"

#include <algorithm>

#include "check/invariants.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"

namespace sd::mm {

void __tlb_reset_range(mmu_gather& tlb) {
  if (tlb.fullmm) {
    tlb.start = tlb.end = ~va_t{0};
  } else {
    tlb.start = TASK_SIZE;
    tlb.end = 0;
  }
  tlb.freed_tables = false;
  tlb.unshared_tables = false;
  tlb.cleared_ptes = tlb.cleared_pmds = tlb.cleared_puds = tlb.cleared_p4ds = false;
}

void tlb_gather_mmu(mmu_gather& tlb, mm_struct& mm, bool fullmm) {
  tlb = mmu_gather{};
  tlb.mm = &mm;
  tlb.fullmm = fullmm;
  __tlb_reset_range(tlb);
  ++mm.tlb_flush_pending;  // inc_tlb_flush_pending(): before any PTE change of this gather
}

void __tlb_adjust_range(mmu_gather& tlb, va_t addr, va_t size) {
  tlb.start = std::min(tlb.start, addr);
  tlb.end = std::max(tlb.end, addr + size);
}

void tlb_remove_tlb_entry(mmu_gather& tlb, va_t addr) {
  __tlb_adjust_range(tlb, addr, PAGE_SIZE);
  tlb.cleared_ptes = true;
}

bool __tlb_remove_page(mmu_gather& tlb, pfn_t page) {
  tlb.pages.push_back(page);
  ++tlb.active_nr;
  if (tlb.active_nr >= tlb.active_max - 1) {
    // tlb_next_batch(): GFP_NOWAIT allocation assumed to succeed, up to the count limit.
    if (tlb.batch_count >= MAX_GATHER_BATCH_COUNT) return true;
    ++tlb.batch_count;
    tlb.active_nr = 0;
    tlb.active_max = MAX_GATHER_BATCH;
  }
  return false;
}

namespace {

// tlb_table_flush(): invalidate (so walk caches drop the tables), then free the batch via
// RCU. Software walkers may still be inside the tables, hence the grace period.
sim::task<> tlb_table_flush(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  if (!tlb.has_table_batch) co_return;
  co_await tlb_flush_mmu_tlbonly(k, cpu, tlb);  // tlb_table_invalidate()
  std::vector<pfn_t> batch = std::move(tlb.tables);
  tlb.tables.clear();
  tlb.has_table_batch = false;
  k.rcu.call_rcu(k.eng, [batch](kern::kernel& kk) {
    for (pfn_t t : batch) pagetable_free(kk, t, "tlb_remove_table_rcu");
  });
}

// tlb_remove_table_one(): a single table without a batch (mm/mmu_gather.c, 2026 mm tree).
sim::task<> tlb_remove_table_one(kern::kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t table) {
  kern::trace_scope ts(k, cpu, "tlb_remove_table_one");
  if (pt_reclaim(k)) {
    // CONFIG_PT_RECLAIM: call_rcu on the ptdesc's own rcu_head; no IPI, no sleep.
    k.rcu.call_rcu(k.eng, [table](kern::kernel& kk) {
      pagetable_free(kk, table, "__tlb_remove_table_one_rcu");
    });
    co_return;
  }
  // Without it: wait for every walker, then free at once. Since 1fb3d8c20bfa by a grace
  // period (tlb_remove_table_sync_rcu), before by a sync IPI (tlb_remove_table_sync_one).
  if (k.patch(patches::feature::table_free_sync_rcu))
    co_await tlb_remove_table_sync_rcu(k, cpu);
  else
    co_await tlb_remove_table_sync_one(k, cpu, tlb.mm);
  co_await k.step(cost::param::page_free);
  pagetable_free(k, table, "tlb_remove_table_one");
}

sim::task<> tlb_remove_table(kern::kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t table) {
  if (!k.knob(patches::knob::rcu_table_free)) {
    // !CONFIG_MMU_GATHER_TABLE_FREE: the table is freed with the pages, right after the
    // flush. Only sound where that flush is itself an IPI every walker must answer.
    if (__tlb_remove_page(tlb, table)) co_await tlb_flush_mmu(k, cpu, tlb);
    co_return;
  }
  if (!tlb.has_table_batch && !k.knob(patches::knob::table_batch_alloc)) {
    // __get_free_page(GFP_NOWAIT) for the batch failed: tlb_table_invalidate() (the flush
    // that seed 000's skip counts on: it happens only if the gather recorded something),
    // then the table alone.
    co_await tlb_flush_mmu_tlbonly(k, cpu, tlb);
    co_await tlb_remove_table_one(k, cpu, tlb, table);
    co_return;
  }
  tlb.has_table_batch = true;
  tlb.tables.push_back(table);
  if (tlb.tables.size() == MAX_TABLE_BATCH) co_await tlb_table_flush(k, cpu, tlb);
}

void tlb_batch_pages_flush(kern::kernel& k, mmu_gather& tlb) {
  for (pfn_t p : tlb.pages) {
    if (k.mem[p].kind == frame_kind::pgtable)
      pagetable_free(k, p, "tlb_batch_pages_flush");
    else
      put_page(k, p, "tlb_batch_pages_flush");
  }
  tlb.pages.clear();
  tlb.active_nr = 0;
  tlb.active_max = MMU_GATHER_BUNDLE;
  tlb.batch_count = 0;
}

}  // namespace

sim::task<> free_table_tlb(kern::kernel& k, unsigned cpu, mmu_gather& tlb, pfn_t table, level lvl,
                           va_t addr) {
  // The range is one page at the parent level: a pte table frees a pmd entry, etc.
  __tlb_adjust_range(tlb, addr, PAGE_SIZE);
  if (lvl == level::pte) tlb.cleared_pmds = true;
  if (lvl == level::pmd) tlb.cleared_puds = true;
  if (lvl == level::pud) tlb.cleared_p4ds = true;
  tlb.freed_tables = true;
  if (!k.knob(patches::knob::flush_before_table_free)) {
    // Test-only fault: free the table before any flush.
    co_await k.step(cost::param::page_free);
    pagetable_free(k, table, "free_pgtables (flush_before_table_free=off)");
    co_return;
  }
  co_await tlb_remove_table(k, cpu, tlb, table);
}

sim::task<> tlb_flush_mmu_tlbonly(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  if (!(tlb.freed_tables || tlb.unshared_tables || tlb.cleared_ptes || tlb.cleared_pmds ||
        tlb.cleared_puds || tlb.cleared_p4ds))
    co_return;
  co_await k.arch->tlb_flush(k, cpu, tlb);
  __tlb_reset_range(tlb);
}

sim::task<> tlb_flush_mmu_free(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  co_await tlb_table_flush(k, cpu, tlb);
  if (!tlb.pages.empty()) {
    co_await k.step(cost::param::page_free, static_cast<std::int64_t>(tlb.pages.size()));
    tlb_batch_pages_flush(k, tlb);
  }
}

sim::task<> tlb_flush_mmu(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  if (!k.knob(patches::knob::flush_before_page_free)) {
    co_await tlb_flush_mmu_free(k, cpu, tlb);  // test-only fault: free, then flush
    co_await tlb_flush_mmu_tlbonly(k, cpu, tlb);
    co_return;
  }
  co_await tlb_flush_mmu_tlbonly(k, cpu, tlb);
  co_await tlb_flush_mmu_free(k, cpu, tlb);
}

sim::task<> tlb_finish_mmu(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  // mm_tlb_flush_nested(): another gather of this mm is in flight. It may have cleared
  // PTEs we then found empty; flush everything, walk caches included.
  co_await k.step(cost::param::pt_read);
  if (tlb.mm->tlb_flush_pending > 1 && k.knob(patches::knob::nested_gather_force_flush)) {
    tlb.fullmm = true;
    __tlb_reset_range(tlb);
    tlb.freed_tables = true;
  }
  co_await tlb_flush_mmu(k, cpu, tlb);
  --tlb.mm->tlb_flush_pending;  // dec_tlb_flush_pending()
}

namespace {
// Seed 000: tlb_table_flush_implies_ipi_broadcast(), or the skip forced on any arch.
bool sync_implied_by_flush(kern::kernel& k) {
  return k.arch->tlb_table_flush_implies_ipi_broadcast(k) ||
         k.patch(patches::feature::skip_redundant_sync_ipi_forced);
}
}  // namespace

bool pt_reclaim(const kern::kernel& k) {
  if (!k.knob(patches::knob::rcu_table_free)) return false;  // depends on it
  return k.patch(patches::feature::pt_reclaim_generic) ||
         (k.patch(patches::feature::pt_reclaim_x86) && k.arch->is_x86());
}

sim::task<> tlb_remove_table_sync_rcu(kern::kernel& k, unsigned cpu) {
  kern::trace_scope ts(k, cpu, "tlb_remove_table_sync_rcu");
  if (sync_implied_by_flush(k)) {
    ++k.stats.sync_skipped;
    co_return;
  }
  co_await k.rcu.synchronize_rcu(k);
}

sim::task<> tlb_remove_table_sync_one(kern::kernel& k, unsigned cpu, mm_struct* mm) {
  kern::trace_scope ts(k, cpu, "tlb_remove_table_sync_one");
  if (sync_implied_by_flush(k)) {
    ++k.stats.sync_skipped;
    co_return;
  }
  // Seed 004 2/3: only mm_cpumask(mm), where the arch maintains it; else every online CPU.
  const cpumask* mask = nullptr;
  if (mm && k.patch(patches::feature::sync_ipi_mm_cpumask) && k.arch->maintains_mm_cpumask())
    mask = &mm->cpumask_;
  // Seed 004 3/3: skip CPUs whose context-tracking state is not KERNEL (the predicate is
  // evaluated by the sender, reading each CPU's state remotely).
  kern::smp_cond_func_t cond;
  if (k.patch(patches::feature::sync_ipi_kernel_mode_only))
    cond = [&k](unsigned t) { return k.cpus[t].context_tracking() == hw::ct_state::kernel; };
  // As posted: 'state & CT_STATE_MASK == CONTEXT_KERNEL' is state & (3 == 0), always 0.
  if (k.patch(patches::feature::sync_ipi_kernel_mode_only_as_posted))
    cond = [](unsigned) { return false; };
  co_await kern::smp_call_function_many_cond(
      k, cpu, mask,
      [](kern::kernel& kk, unsigned) -> sim::task<> {
        co_await kk.step_ns(0, "tlb_remove_table_smp_sync");
      },
      std::move(cond), false, kern::ipi_kind::table_sync);
}

void tlb_unshare_pmd_ptdesc(kern::kernel& k, mmu_gather& tlb, pfn_t table, va_t addr) {
  frame& f = k.mem[table];
  --f.pt_share_count;
  // asm-generic/tlb.h (2026 mm tree): tlb_flush_pmd_range(addr & PUD_MASK, PUD_SIZE), i.e.
  // cleared_pmds: the stride is 2 MiB (on x86 512 strides > the 33-page ceiling: a full flush).
  __tlb_adjust_range(tlb, addr & PUD_MASK, PUD_SIZE);
  tlb.cleared_pmds = true;
  tlb.unshared_tables = true;
  if (f.pt_share_count == 0) tlb.fully_unshared_tables = true;
}

sim::task<> tlb_flush_unshared_tables(kern::kernel& k, unsigned cpu, mmu_gather& tlb) {
  // Even when not the last sharer, our own TLB must stop using the table.
  if (tlb.unshared_tables) co_await tlb_flush_mmu_tlbonly(k, cpu, tlb);
  // Only the last sharer syncs: a still-shared table cannot be reused before it does.
  if (tlb.fully_unshared_tables) {
    if (k.knob(patches::knob::hugetlb_unshare_sync))
      co_await tlb_remove_table_sync_one(k, cpu, tlb.mm);
    tlb.fully_unshared_tables = false;
  }
}

void pagetable_free(kern::kernel& k, pfn_t table, const char* where) {
  check::before_table_free(k, table, where);
  k.mem.free(table);
  ++k.stats.tables_freed;
}

void put_page(kern::kernel& k, pfn_t page, const char* where) {
  frame& f = k.mem[page];
  if (--f.refcount > 0) return;
  check::before_page_free(k, page, where);
  k.mem.free(page);
  ++k.stats.pages_freed;
}

}  // namespace sd::mm
