// arm64: no flush IPIs, exact TLBI counts, and the walker fence done the way the kernel
// does it there (RCU table freeing), each derived from arch/arm64/include/asm/tlb.h and
// tlbflush.h.
#include <gtest/gtest.h>

#include <map>

#include "check/invariants.h"
#include "machine_fixture.h"
#include "mm/pt_lookup.h"

namespace sd::test {
namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t C = 8 * GiB;
constexpr va_t KEEP = 4 * GiB;  // a neighbour in C's 512 GiB span keeps the PUD table

TEST(Arm64, MunmapFreeingTablesSendsNoIpiAndTheExpectedTlbis) {
  machine m("arm64", 4);
  auto& mm = m.k->new_mm("proc");
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::sys_mmap(k, cpu, KEEP, mm::PAGE_SIZE);
    co_await kern::user_access(k, cpu, KEEP, true);
    co_await kern::sys_mmap(k, cpu, C, 2 * mm::PAGE_SIZE);
    co_await kern::user_access(k, cpu, C, true);
    co_await kern::user_access(k, cpu, C + mm::PAGE_SIZE, true);
    co_await kern::user_run(k, cpu, 100'000);
    co_await kern::sys_munmap(k, cpu, C, 2 * mm::PAGE_SIZE);
  });
  for (unsigned cpu = 1; cpu < 4; ++cpu)
    m.start(cpu, [&](kernel& k, unsigned c) -> sim::task<> {
      co_await kern::user_run(k, c, 20'000);
      co_await kern::switch_to_task(k, c, mm);
      co_await kern::user_access(k, c, C, false);
      co_await kern::user_run(k, c, 500'000);
    });
  m.run();
  const kern::metrics& st = m.k->stats;
  // TLB maintenance is TLBI broadcast: no IPI at all.
  EXPECT_EQ(st.ipis_sent, 0u);
  EXPECT_EQ(st.cpus_interrupted(), 0u);
  // 1) tlb_end_vma (arm64 does not merge VMAs): leaf-only flush of the 2 cleared PTEs,
  //    [C, C+8K): 2 pages with FEAT_TLBIRANGE -> one range op (num 0, scale 0).
  // 2) tlb_finish_mmu: the PTE and PMD tables were freed -> freed_tables, all levels;
  //    range [C, C+4K) at PMD/PUD levels, stride 2 MiB -> [C, C+2M): 512 pages -> one
  //    range op at scale 1 ((7+1) << 6 = 512).
  EXPECT_EQ(st.tlbi_broadcasts, 2u);
  EXPECT_EQ(st.dsb_waits, 2u);
  EXPECT_EQ(st.flushes_by_reason.at("tlbi_range_leaf"), 1u);
  EXPECT_EQ(st.flushes_by_reason.at("tlbi_range"), 1u);
  EXPECT_EQ(st.tables_freed, 2u);
  // The walker fence for freed tables is an RCU grace period (call_rcu on the batch).
  EXPECT_EQ(st.rcu_grace_periods, 1u);
  // At the DSB every CPU lost its translations for C and its walk-cache pointers to the
  // freed tables (VAE1IS by VA drops every level used to translate C). CPUs 1-3 touched
  // only C; CPU 0 keeps KEEP's leaf, PTE-table and PMD-table entries.
  for (const auto& c : m.k->cpus) {
    const std::uint32_t asid = mm.id;
    EXPECT_EQ(c.tlb.find(hw::tlb::leaf_key(asid, C)), nullptr) << "CPU " << c.id;
    for (unsigned l = 1; l <= 3; ++l)
      EXPECT_EQ(c.tlb.find(hw::tlb::walk_key(asid, l, C)), nullptr) << "CPU " << c.id;
    EXPECT_EQ(c.tlb.size(), c.id == 0 ? 3u : 0u) << "CPU " << c.id;
  }
  EXPECT_EQ(m.k->mon.total(), 0u);
}

// A lockless walker (GUP-fast's shape) on CPU 1 reads the PMD entry, then stays inside its
// IRQs-off region for 200 us before reading the PTE table it found. Meanwhile CPU 0 unmaps
// the range and frees that table. What fences the walker depends on the arch and on RCU
// table freeing (kernel-mechanisms s4.2, s12.5).
struct walker_race {
  explicit walker_race(const std::string& arch, bool rcu_table_free) {
    patches::knob_set knobs;
    knobs.set(patches::knob::rcu_table_free, rcu_table_free);
    m = std::make_unique<machine>(arch, 2, knobs);
    auto& mm = m->k->new_mm("proc");
    m->start(0, [&mm](kernel& k, unsigned cpu) -> sim::task<> {
      co_await kern::switch_to_task(k, cpu, mm);
      co_await kern::sys_mmap(k, cpu, C, mm::PAGE_SIZE);
      co_await kern::user_access(k, cpu, C, true);
      co_await kern::user_run(k, cpu, 100'000);  // the walker starts at 50 us
      co_await kern::sys_munmap(k, cpu, C, mm::PAGE_SIZE);
    });
    m->start(1, [&mm](kernel& k, unsigned cpu) -> sim::task<> {
      co_await kern::switch_to_task(k, cpu, mm);
      co_await kern::user_run(k, cpu, 50'000);
      k.local_irq_disable(cpu);
      co_await k.step(cost::param::pt_read);
      const mm::pt_entry* pmd = mm::lookup_entry(k.mem, mm, C, mm::level::pmd);
      const mm::pfn_t table = pmd->pfn;
      const std::uint32_t gen = k.mem[table].generation;
      co_await k.step_ns(200'000);  // a long walk (many pages, or an NMI on top)
      co_await k.step(cost::param::pt_read);
      check::table_still_valid(k, cpu, table, gen, "test walker", "read pte");
      k.local_irq_enable(cpu);
    });
    m->run();
  }
  std::unique_ptr<machine> m;
};

// mm/memory.c handle_pte_fault(): a fault whose PTE already allows the access calls
// flush_tlb_fix_spurious_fault() only for a write, and arm64 defined it empty until Huang
// Ying's 2025 patch made it local_flush_tlb_page_nonotify(). So one spurious write and one
// spurious read: v6.17 no TLBI at all; v7.0 one local TLBI (the write's).
kern::flush_counts spurious_fault_flushes(const std::string& preset) {
  machine m("arm64", 2, {}, preset);
  auto& mm = m.k->new_mm("proc");
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::sys_mmap(k, cpu, C, mm::PAGE_SIZE);
    co_await kern::user_access(k, cpu, C, true);  // maps the page writable: no flush
    co_await kern::handle_mm_fault(k, cpu, C, true);
    co_await kern::handle_mm_fault(k, cpu, C, false);
  });
  m.run();
  EXPECT_EQ(m.k->stats.spurious_faults, 2u);
  return m.k->stats.flushes_by_reason;
}

TEST(Arm64, SpuriousFaultFlushesOnlyForWritesAndOnlyLocallyAfterThePatch) {
  EXPECT_TRUE(spurious_fault_flushes("v6.17").empty());
  EXPECT_EQ(spurious_fault_flushes("v7.0"), (kern::flush_counts{{"tlbi_local", 1}}));
}

TEST(WalkerFence, Arm64RcuTableFreeWaitsForTheIrqsOffWalker) {
  walker_race r("arm64", true);
  EXPECT_EQ(r.m->k->stats.ipis_sent, 0u);
  EXPECT_EQ(r.m->k->mon.total(), 0u);
}

TEST(WalkerFence, Arm64WithoutRcuTableFreeFreesUnderTheWalker) {
  walker_race r("arm64", false);
  ASSERT_EQ(r.m->k->mon.total(), 1u);
  EXPECT_EQ(r.m->k->mon.violations()[0].inv, check::invariant::pt_use_after_free);
}

TEST(WalkerFence, X86FlushIpiFencesTheWalkerEvenWithoutRcu) {
  // x86 native: the freed_tables flush IPIs CPU 1 and waits; CPU 1 takes it only after its
  // IRQs-off region, so the table is freed after the walk (the historic x86 scheme).
  walker_race r("x86", false);
  EXPECT_EQ(r.m->k->stats.ipis_received_per_cpu[1], 1u);
  EXPECT_EQ(r.m->k->mon.total(), 0u);
  // The munmap on CPU 0 could only finish after the walker left its region at 250 us.
  EXPECT_GE(r.m->k->stats.sim_time_ns, 250'000);
}

}  // namespace
}  // namespace sd::test
