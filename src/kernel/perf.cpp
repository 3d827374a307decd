// The perf sampling NMI's page-size walk (kernel/events/core.c perf_get_page_size, with
// perf_get_pgtable_size): pgd, p4d/pud, pmd (pmdp_get_lockless), then the PTE
// (ptep_get_lockless), each read without locks, IRQs saved off. It holds off table freeing
// the way GUP-fast does: the flush and sync IPIs are taken only after the NMI returns, and
// an IRQs-off region is an RCU reader. What it does not have is a context-tracking
// transition: a nohz_full CPU sampled in user mode still reads CT_STATE_USER.
#include "check/invariants.h"
#include "kernel/paths.h"

namespace sd::kern {

namespace {
constexpr const char* k_walker = "perf_get_page_size (NMI)";
}  // namespace

sim::task<> perf_nmi(kernel& k, unsigned cpu, mm::va_t va) {
  trace_scope ts(k, cpu, "perf_get_page_size");
  hw::cpu& c = k.cpus[cpu];
  c.in_nmi = true;
  const bool irqs_were_on = !k.irqs_disabled(cpu);
  k.local_irq_disable(cpu);  // local_irq_save(); an NMI is not interruptible anyway
  mm::mm_struct& mm = c.current_mm ? *c.current_mm : k.init_mm();
  lockless_walks::walk& walk = k.walks.begin(cpu, walk_context::nmi, mm, k_walker);
  mm::pfn_t table = mm.pgd;
  std::uint32_t gen = k.mem[table].generation;
  for (unsigned lvl = 4; lvl >= 1 && table; --lvl) {
    walk.tables.push_back(table);
    co_await k.step(cost::param::pt_read);
    if (!check::table_still_valid(k, cpu, table, gen, k_walker,
                                  "perf_get_pgtable_size: read entry"))
      break;
    const mm::pt_entry e = k.mem.table(table).e[mm::pt_index(va, lvl)];
    if (!e.present() || lvl == 1 || e.huge()) break;  // the size is known
    table = e.pfn;
    gen = k.mem[table].generation;
  }
  k.walks.end(cpu, walk_context::nmi);
  if (irqs_were_on) k.local_irq_enable(cpu);
  c.in_nmi = false;
}

}  // namespace sd::kern
