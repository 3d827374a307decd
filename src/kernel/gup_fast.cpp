// mm/gup.c gup_fast(): walk the page tables without locks, with IRQs disabled so that the
// TLB-flush and sync IPIs (and RCU grace periods) wait for the walk. For each PTE: read it,
// take a speculative reference (folio_try_get fails on a freed page), then re-read the PMD
// and the PTE and back off if either changed. Whatever is not pinned would be handled by
// slow GUP under mmap_lock; that path takes locks and is not modeled (counted as short).
#include "check/invariants.h"
#include "kernel/paths.h"
#include "mm/mmu_gather.h"
#include "mm/pt_lookup.h"

namespace sd::kern {

namespace {

struct table_ref {
  mm::pfn_t pfn;
  std::uint32_t gen;
};

constexpr const char* k_walker = "GUP-fast";

}  // namespace

sim::task<long> gup_fast(kernel& k, unsigned cpu, mm::va_t start, unsigned nr_pages, bool write,
                         std::vector<mm::pfn_t>& pages) {
  trace_scope ts(k, cpu, "gup_fast");
  hw::cpu& c = k.cpus[cpu];
  mm::mm_struct& mm = *c.current_mm;
  c.mode = hw::cpu_mode::kernel;
  const mm::va_t end = start + mm::va_t{nr_pages} * mm::PAGE_SIZE;
  const bool irqs_off = k.knob(patches::knob::gup_fast_irqs_off);
  if (irqs_off) k.local_irq_disable(cpu);
  lockless_walks::walk& walk = k.walks.begin(cpu, walk_context::task, mm, k_walker);
  long pinned = 0;
  mm::va_t addr = start;
  bool stop = false;
  while (addr < end && !stop) {
    // pgd -> pud -> pmd: each entry read locklessly; remember each table's generation.
    table_ref t{mm.pgd, k.mem[mm.pgd].generation};
    mm::pt_entry pmd_val;
    table_ref pmd_table{};
    for (unsigned lvl = 4; lvl >= 2; --lvl) {
      walk.tables.push_back(t.pfn);
      co_await k.step(cost::param::pt_read);
      if (!check::table_still_valid(k, cpu, t.pfn, t.gen, k_walker, "gup_fast: read entry")) {
        stop = true;
        break;
      }
      const mm::pt_entry e = k.mem.table(t.pfn).e[mm::pt_index(addr, lvl)];
      if (!e.present()) {
        stop = true;
        break;
      }
      if (lvl == 2) {
        pmd_val = e;
        pmd_table = t;
        if (e.huge()) break;
      }
      t = {e.pfn, k.mem[e.pfn].generation};
    }
    if (stop) break;
    const mm::va_t next = mm::entry_addr_end(addr, end, 2);
    if (pmd_val.huge()) {
      // gup_fast_pmd_leaf(): one reference per subpage on the folio, then recheck the PMD.
      if (write && !pmd_val.writable()) break;
      co_await k.step(cost::param::atomic);
      mm::frame& folio = k.mem[pmd_val.pfn];
      if (folio.kind != mm::frame_kind::data || folio.refcount <= 0) break;
      const auto nr = static_cast<std::int32_t>((next - addr) >> mm::PAGE_SHIFT);
      folio.refcount += nr;
      co_await k.step(cost::param::pt_read);
      if (k.mem[pmd_table.pfn].generation != pmd_table.gen ||
          k.mem.table(pmd_table.pfn).e[mm::pt_index(addr, 2)] != pmd_val) {
        for (std::int32_t i = 0; i < nr; ++i)
          mm::put_page(k, pmd_val.pfn, "gup_fast_pmd_leaf: recheck failed");
        break;
      }
      for (std::int32_t i = 0; i < nr; ++i) pages.push_back(pmd_val.pfn);
      pinned += nr;
      addr = next;
      continue;
    }
    // gup_fast_pte_range() over this PMD's span, mapping the PTE table from the PMD copy.
    walk.tables.push_back(t.pfn);
    for (; addr < next; addr += mm::PAGE_SIZE) {
      co_await k.step(cost::param::pt_read);
      if (!check::table_still_valid(k, cpu, t.pfn, t.gen, k_walker,
                                    "gup_fast_pte_range: read pte")) {
        stop = true;
        break;
      }
      const mm::pt_entry pte = k.mem.table(t.pfn).e[mm::pt_index(addr, 1)];
      if (!pte.present() || (write && !pte.writable())) {
        stop = true;
        break;
      }
      co_await k.step(cost::param::atomic);  // try_grab_folio_fast(): folio_try_get()
      mm::frame& page = k.mem[pte.pfn];
      if (page.kind != mm::frame_kind::data || page.refcount <= 0) {
        stop = true;
        break;
      }
      ++page.refcount;
      // Did the PTE change between our read and the reference? (for the monitor only)
      const mm::pt_entry* now = mm::lookup_pte(k.mem, mm, addr);
      const bool changed_before_ref = !now || *now != pte || k.mem[t.pfn].generation != t.gen;
      if (k.knob(patches::knob::gup_fast_recheck)) {
        co_await k.step(cost::param::pt_read, 2);
        const bool pmd_same = k.mem[pmd_table.pfn].generation == pmd_table.gen &&
                              k.mem.table(pmd_table.pfn).e[mm::pt_index(addr, 2)] == pmd_val;
        const bool pte_same =
            k.mem[t.pfn].generation == t.gen && k.mem.table(t.pfn).e[mm::pt_index(addr, 1)] == pte;
        if (!pmd_same || !pte_same) {
          mm::put_page(k, pte.pfn, "gup_fast: recheck failed, drop reference");
          stop = true;
          break;
        }
      } else if (changed_before_ref) {
        check::report_gup_fast_stale_page(k, cpu, addr, pte.pfn);
      }
      pages.push_back(pte.pfn);
      ++pinned;
    }
  }
  k.walks.end(cpu, walk_context::task);
  if (irqs_off) k.local_irq_enable(cpu);
  k.stats.gup_fast_pages += static_cast<std::uint64_t>(pinned);
  if (pinned < static_cast<long>(nr_pages)) ++k.stats.gup_fast_short;
  co_return pinned;
}

void unpin_user_pages(kernel& k, std::vector<mm::pfn_t>& pages) {
  for (mm::pfn_t p : pages) mm::put_page(k, p, "unpin_user_pages");
  pages.clear();
}

}  // namespace sd::kern
