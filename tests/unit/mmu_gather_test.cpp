// mmu_gather rules that the scenarios do not reach yet: the sync IPI and the nested-gather
// forced flush (mm/mmu_gather.c, v7.0).
#include <gtest/gtest.h>

#include "arch/tlb_common.h"
#include "machine_fixture.h"
#include "mm/mmu_gather.h"

namespace sd::test {
namespace {

using kern::kernel;

// tlb_remove_table_sync_one() = smp_call_function(wait): every online CPU but the caller,
// whatever mm it runs, and the caller waits for a CPU that has IRQs off.
TEST(MmuGather, SyncOneIpisEveryOtherCpuAndWaitsForIrqsOffRegions) {
  machine m("x86", 4);
  sim::sim_time returned_at = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 10'000);
    co_await mm::tlb_remove_table_sync_one(k, cpu, nullptr);
    returned_at = k.eng.now();
  });
  m.start(2, [&](kernel& k, unsigned cpu) -> sim::task<> {
    k.local_irq_disable(cpu);  // e.g. a GUP-fast walk from 0 to 80 us
    co_await k.step_ns(80'000);
    co_await k.step(cost::param::pt_read);
    k.local_irq_enable(cpu);
  });
  m.run();
  const kern::metrics& st = m.k->stats;
  EXPECT_EQ(st.sync_broadcasts, 1u);
  EXPECT_EQ(st.sync_ipis, 3u);
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 1, 1, 1}));
  EXPECT_GE(returned_at, 80'000);  // not before CPU 2 re-enabled IRQs
}

// Two gathers of one mm in flight (e.g. concurrent MADV_DONTNEED): the one that finishes
// while the other is pending forces a full flush with freed_tables, which on x86 also
// reaches lazy CPUs. With the knob off it flushes only its own (empty) range: nothing.
std::uint64_t nested_finish_ipis(bool force) {
  patches::knob_set knobs;
  knobs.set(patches::knob::nested_gather_force_flush, force);
  machine m("x86", 3, knobs);
  auto& mm = m.k->new_mm("proc");
  auto other = std::make_shared<mm::mmu_gather>();
  m.start(0, [&, other](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    mm::tlb_gather_mmu(*other, mm, false);  // in flight until the end
    co_await kern::user_run(k, cpu, 50'000);
    co_await mm::tlb_finish_mmu(k, cpu, *other);
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::user_run(k, cpu, 10'000);
    mm::mmu_gather tlb;
    mm::tlb_gather_mmu(tlb, mm, false);
    co_await mm::tlb_finish_mmu(k, cpu, tlb);  // saw PTEs already cleared: empty range
  });
  m.start(2, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::switch_to_idle(k, cpu);  // lazy
  });
  m.run();
  return m.k->stats.ipis_sent;
}

TEST(MmuGather, NestedGatherForcesAFullFlushThatReachesLazyCpus) {
  // Forced: CPU 1's finish flushes FLUSH_ALL with freed_tables -> on_each_cpu_mask to
  // CPUs 0 and 2 (2 is lazy). CPU 0's own finish later sees no other gather and an empty
  // range: no flush.
  EXPECT_EQ(nested_finish_ipis(true), 2u);
  EXPECT_EQ(nested_finish_ipis(false), 0u);
}

// kernel/smp.c: a call to exactly one CPU goes through send_call_function_single_ipi(),
// which sends no IPI when that CPU's idle loop polls (set_nr_if_polling): the idle loop runs
// the queued function itself. tlb_remove_table_sync_one on a 2-CPU machine with the other
// CPU idle: with halt, one IPI taken; with polling idle, none, and the call still completes.
std::pair<std::uint64_t, std::uint64_t> sync_to_idle(bool poll) {
  machine m("x86", 2);
  m.k->cfg.idle_poll = poll;
  bool returned = false;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 10'000);
    co_await mm::tlb_remove_table_sync_one(k, cpu, nullptr);
    returned = true;
  });
  m.run();
  EXPECT_TRUE(returned);
  return {m.k->stats.ipis_sent, m.k->stats.idle_polled_wakeups};
}

TEST(MmuGather, SyncToAPollingIdleCpuNeedsNoIpi) {
  EXPECT_EQ(sync_to_idle(false), (std::pair<std::uint64_t, std::uint64_t>{1, 0}));
  EXPECT_EQ(sync_to_idle(true), (std::pair<std::uint64_t, std::uint64_t>{0, 1}));
}

// asm-generic/tlb.h tlb_unshare_pmd_ptdesc(): the PUD window is recorded with
// tlb_flush_pmd_range, so the gather flushes 1 GiB at a 2 MiB stride (cleared_pmds). On x86
// that is 512 strides, past tlb_single_page_flush_ceiling (33): a full flush, not one INVLPG.
TEST(MmuGather, UnshareRecordsClearedPmdsOverThePudWindow) {
  machine m("x86", 2);
  auto& mm = m.k->new_mm("proc");
  const mm::pfn_t table = m.k->mem.alloc_table(mm::level::pmd, mm.id);
  m.k->mem[table].pt_share_count = 1;
  mm::mmu_gather tlb;
  mm::tlb_gather_mmu(tlb, mm, false);
  const mm::va_t addr = (mm::va_t{1} << 40) + 3 * mm::PMD_SIZE;
  mm::tlb_unshare_pmd_ptdesc(*m.k, tlb, table, addr);
  EXPECT_TRUE(tlb.cleared_pmds);
  EXPECT_FALSE(tlb.cleared_puds);
  EXPECT_EQ(arch::tlb_get_unmap_shift(tlb), mm::PMD_SHIFT);
  EXPECT_EQ(tlb.start, mm::va_t{1} << 40);
  EXPECT_EQ(tlb.end, (mm::va_t{1} << 40) + mm::PUD_SIZE);
  EXPECT_EQ((tlb.end - tlb.start) >> arch::tlb_get_unmap_shift(tlb), 512u);
  EXPECT_TRUE(tlb.unshared_tables);
  EXPECT_TRUE(tlb.fully_unshared_tables);  // the count went 1 -> 0: we were the last sharer
}

}  // namespace
}  // namespace sd::test
