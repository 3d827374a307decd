#include "check/invariants.h"

#include <fmt/format.h>

#include <algorithm>

#include "kernel/kernel.h"
#include "mm/pt_lookup.h"

namespace sd::check {

namespace {
const char* level_name(mm::level l) {
  switch (l) {
    case mm::level::pte:
      return "pte";
    case mm::level::pmd:
      return "pmd";
    case mm::level::pud:
      return "pud";
    case mm::level::pgd:
      return "pgd";
  }
  return "?";
}
}  // namespace

void flush_completed(kern::kernel& k, unsigned cpu, const mm::mm_struct& mm, mm::va_t start,
                     mm::va_t end, std::uint64_t seq_at_start, const char* where) {
  if (mm.pte_change_seq != seq_at_start) return;
  const mm::va_t hi = end == mm::TLB_FLUSH_ALL ? mm::TASK_SIZE : end;
  if (hi <= start) return;
  const auto check_cpu = [&](unsigned id) {
    const hw::cpu& c = k.cpus[id];
    if (c.is_lazy || c.switching) return;
    c.tlb.for_each_leaf(c.loaded_asid, start, hi, [&](mm::va_t va, const hw::tlb_entry& e) {
      // A stale entry that is less permissive than the page table (read-only where the
      // PTE is now writable) is allowed: it can only cause a spurious fault (s11.5a).
      const mm::pt_entry* pte = mm::lookup_leaf(k.mem, mm, va);
      if (pte && pte->present() && pte->pfn == e.pfn && (!e.writable || pte->writable())) return;
      k.mon.report({invariant::stale_tlb_after_flush,
                    {cpu, c.id},
                    fmt::format("mm {} va {:#x} -> page {}", mm.name, va, e.pfn),
                    where,
                    fmt::format("CPU {} still translates {:#x} after CPU {}'s {} of "
                                "[{:#x}, {:#x}) returned",
                                c.id, va, cpu, where, start, hi),
                    k.eng.now()});
    });
  };
  // Only a CPU holding leaf entries near the range can fail: look those up in the chunk
  // directory; for a range too wide for it, take the CPUs whose TLB holds anything. check
  // (whose reduction logs every TLB read) visits every CPU running the mm.
  if (k.mem.log.on) {
    mm.loaded_on.for_each(check_cpu);
    return;
  }
  std::vector<std::uint64_t> near;
  const bool looked_up =
      hw::tlb::leaf_holders(k.mem, mm::chunk_directory::any_tag, start, hi, near);
  mm::chunk_directory::for_each(looked_up ? near : k.mem.asids.nonempty(), [&](std::uint32_t id) {
    if (mm.loaded_on.test(id)) check_cpu(id);
  });
}

void before_table_free(kern::kernel& k, mm::pfn_t table, const char* where) {
  const mm::frame& f = k.mem[table];
  for (const auto& h : k.mem.holders(table)) {
    const hw::cpu& c = k.cpus[h.cpu];
    if (!c.loaded_mm || c.loaded_mm->id != f.owner_mm || c.loaded_asid != h.asid) continue;
    k.mon.report(
        {c.is_lazy ? invariant::lazy_cpu_freed_table : invariant::walk_cache_freed_table,
         k.cpus_among({k.eng.current(), h.cpu}),
         fmt::format("{} table page {} of mm {}", level_name(f.lvl), table,
                     k.mm_by_id(f.owner_mm).name),
         where,
         fmt::format("CPU {} ({}) still caches a pointer to it in its paging-structure "
                     "cache when {} frees it",
                     h.cpu, c.is_lazy ? "lazy" : "running the mm", k.actor_name(k.eng.current())),
         k.eng.now()});
  }
}

void before_page_free(kern::kernel& k, mm::pfn_t page, const char* where) {
  for (const auto& h : k.mem.holders(page)) {
    const hw::cpu& c = k.cpus[h.cpu];
    if (c.is_lazy || c.loaded_asid != h.asid || c.loaded_mm == &k.init_mm()) continue;
    k.mon.report(
        {invariant::data_page_freed_while_mapped, k.cpus_among({k.eng.current(), h.cpu}),
         fmt::format("page {}", page), where,
         fmt::format("CPU {} running mm {} still has a TLB entry for it", h.cpu, c.loaded_mm->name),
         k.eng.now()});
  }
}

bool table_still_valid(kern::kernel& k, unsigned cpu, mm::pfn_t table, std::uint32_t gen,
                       const char* walker, const char* where) {
  const mm::frame& f = k.mem[table];
  if (f.generation == gen && f.kind == mm::frame_kind::pgtable) return true;
  k.mon.report(
      {invariant::pt_use_after_free,
       {cpu},
       fmt::format("table page {}", table),
       where,
       fmt::format("{} on CPU {} read a page-table page that was {} after it read the "
                   "pointer to it",
                   walker, cpu, f.kind == mm::frame_kind::free ? "freed" : "freed and reused"),
       k.eng.now()});
  return false;
}

void before_i_mmap_unlock(kern::kernel& k, const mm::mmu_gather& tlb) {
  for (const mm::pfn_t table : tlb.unshared) {
    const mm::frame& f = k.mem[table];
    if (f.pt_share_count == 0) {
      for (const unsigned c : k.walks.active())
        k.walks.for_each_walk(c, [&](const kern::lockless_walks::walk& w) {
          if (w.mm != tlb.mm ||
              std::find(w.tables.begin(), w.tables.end(), table) == w.tables.end())
            return;
          k.mon.report({invariant::unshare_without_fence, k.cpus_among({k.eng.current(), c}),
                        fmt::format("pmd table page {} (exclusive to mm {} now)", table,
                                    k.mm_by_id(f.owner_mm).name),
                        "huge_pmd_unshare_flush: i_mmap_rwsem released",
                        fmt::format("{} on CPU {} walking mm {} is still inside the table {} "
                                    "unshared; no IPI or grace period waited for it",
                                    w.walker, c, tlb.mm->name, k.actor_name(k.eng.current())),
                        k.eng.now()});
        });
    }
    for (const auto& h : k.mem.holders(table)) {
      const hw::cpu& c = k.cpus[h.cpu];
      if (c.loaded_mm != tlb.mm || c.loaded_asid != h.asid) continue;
      k.mon.report({invariant::walk_cache_unshared_table, k.cpus_among({k.eng.current(), h.cpu}),
                    fmt::format("pmd table page {} unshared by mm {}", table, tlb.mm->name),
                    "huge_pmd_unshare_flush: i_mmap_rwsem released",
                    fmt::format("CPU {} ({}) still caches a pointer to it in its paging-structure "
                                "cache: the unshare flush did not reach it, or was leaf-only",
                                h.cpu, c.is_lazy ? "lazy" : "running the mm"),
                    k.eng.now()});
    }
  }
}

void after_pud_clear(kern::kernel& k, mm::pfn_t table, const char* where) {
  const mm::frame& f = k.mem[table];
  const auto& entries = k.mem.table(table).e;
  const auto mapped = std::count_if(entries.begin(), entries.end(),
                                    [](const mm::pt_entry& e) { return e.present(); });
  if (mapped == 0) return;
  // Reachable means some mm's PUD entry still points at it (a sharer's, at any address).
  for (std::size_t id = 1; id < k.mms.size(); ++id) {
    const mm::mm_struct& mm = *k.mms[id];
    if (!mm.pgd) continue;
    for (const mm::pt_entry& pgd : k.mem.table(mm.pgd).e) {
      if (!pgd.present()) continue;
      for (const mm::pt_entry& pud : k.mem.table(pgd.pfn).e)
        if (pud.present() && pud.pfn == table) return;
    }
  }
  k.mon.report({invariant::pt_leak, k.cpus_among({k.eng.current()}),
                fmt::format("pmd table page {} of mm {}", table, k.mm_by_id(f.owner_mm).name),
                where,
                fmt::format("{} cleared the last PUD entry that reached the table while it "
                            "still maps {} huge page(s): no zap or free_pgtables will see it",
                            k.actor_name(k.eng.current()), mapped),
                k.eng.now()});
}

void report_stale_tlb_use(kern::kernel& k, unsigned cpu, mm::va_t va, mm::pfn_t page) {
  k.mon.report(
      {invariant::stale_tlb_use,
       {cpu},
       fmt::format("va {:#x} -> page {}", va, page),
       "user access (TLB hit)",
       fmt::format("CPU {} used a TLB entry whose page was freed since it was filled", cpu),
       k.eng.now()});
}

void report_tlb_gen_regression(kern::kernel& k, unsigned cpu, const mm::mm_struct& mm,
                               std::uint64_t local_gen, std::uint64_t mm_gen) {
  k.mon.report({invariant::tlb_gen_regression,
                {cpu},
                fmt::format("mm {}", mm.name),
                "flush_tlb_func",
                fmt::format("local tlb_gen {} > mm tlb_gen {}", local_gen, mm_gen),
                k.eng.now()});
}

void report_gup_fast_stale_page(kern::kernel& k, unsigned cpu, mm::va_t va, mm::pfn_t page) {
  k.mon.report({invariant::gup_fast_stale_page,
                {cpu},
                fmt::format("va {:#x} -> page {}", va, page),
                "gup_fast_pte_range",
                "the PTE changed before the reference was taken and the page was returned anyway",
                k.eng.now()});
}

}  // namespace sd::check
