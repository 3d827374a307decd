// Exact IPI counts on a 4-CPU x86 machine, each derived from arch/x86/mm/tlb.c.
//
// Setup: threads of one mm run on CPUs 0-2; CPU 3 ran a thread of the mm (so its bit is
// set in mm_cpumask and the mm stays loaded) and went idle: it is lazy.
#include <gtest/gtest.h>

#include "machine_fixture.h"

namespace sd::test {
namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t A = 4 * GiB;            // one page; shares its PTE table with B
constexpr va_t B = A + mm::PAGE_SIZE;  // the neighbour that keeps the table alive
constexpr va_t C = 8 * GiB;            // alone in its PMD and PUD span

struct x86_lazy_setup {
  explicit x86_lazy_setup(patches::knob_set knobs = {}) : m("x86", 4, knobs) {}
  machine m;
  mm::mm_struct* mm = nullptr;

  // CPU 0 maps A, B, C and touches them; the others touch them too (filling their TLBs and
  // walk caches); CPU 3 then goes idle. After 100 us CPU 0 runs `action`.
  void run(std::function<sim::task<>(kernel&, unsigned)> action) {
    mm = &m.k->new_mm("proc");
    m.start(0, [this, action](kernel& k, unsigned cpu) -> sim::task<> {
      co_await kern::switch_to_task(k, cpu, *mm);
      co_await kern::sys_mmap(k, cpu, A, mm::PAGE_SIZE);
      co_await kern::sys_mmap(k, cpu, B, mm::PAGE_SIZE);
      co_await kern::sys_mmap(k, cpu, C, mm::PAGE_SIZE);
      for (va_t va : {A, B, C}) co_await kern::user_access(k, cpu, va, true);
      co_await kern::user_run(k, cpu, 100'000);
      co_await action(k, cpu);
    });
    for (unsigned cpu = 1; cpu <= 3; ++cpu)
      m.start(cpu, [this](kernel& k, unsigned c) -> sim::task<> {
        co_await kern::user_run(k, c, 20'000);  // CPU 0 has mapped everything by now
        co_await kern::switch_to_task(k, c, *mm);
        for (va_t va : {A, B, C}) co_await kern::user_access(k, c, va, false);
        if (c == 3) {
          co_await kern::switch_to_idle(k, c);
        } else {
          co_await kern::user_run(k, c, 500'000);
        }
      });
    ipis_before.assign(4, 0);
    m.run();
  }
  std::vector<std::uint64_t> ipis_before;
};

TEST(X86Flush, MunmapFreeingNoTableSkipsTheLazyCpu) {
  x86_lazy_setup s;
  s.run([&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::sys_munmap(k, cpu, A, mm::PAGE_SIZE);
  });
  const kern::metrics& st = s.m.k->stats;
  // munmap(A): B keeps A's PTE table (ceiling = B), so free_pgtables frees nothing and
  // freed_tables = 0. native_flush_tlb_multi then filters with should_flush_tlb: CPUs 1, 2
  // have the mm loaded and are not lazy -> IPI; CPU 3 is lazy -> skipped.
  EXPECT_EQ(st.ipis_sent, 2u);
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 1, 1, 0}));
  EXPECT_EQ(st.tables_freed, 0u);
  EXPECT_EQ(st.flushes_by_reason.at("remote_send_ipi"), 1u);
  EXPECT_EQ(st.flushes_by_reason.at("remote_shootdown"), 2u);
  EXPECT_EQ(st.flushes_by_reason.at("local_mm_shootdown"), 1u);
  EXPECT_EQ(s.m.k->mon.total(), 0u);
  // The lazy CPU still has the mm loaded and will catch up through tlb_gen.
  EXPECT_TRUE(s.m.k->cpus[3].is_lazy);
  EXPECT_EQ(s.m.k->cpus[3].loaded_mm, s.mm);
}

TEST(X86Flush, MunmapFreeingATableAlsoIpisTheLazyCpu) {
  x86_lazy_setup s;
  s.run([&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::sys_munmap(k, cpu, C, mm::PAGE_SIZE);
  });
  const kern::metrics& st = s.m.k->stats;
  // munmap(C): nothing else in C's 2 MiB or 1 GiB span, so the PTE table and the PMD table
  // are freed (the PUD table stays: A and B share its 512 GiB span). freed_tables = 1, so
  // on_each_cpu_mask IPIs every CPU in mm_cpumask: 1, 2 and the lazy 3, which switches to
  // init_mm instead of flushing.
  EXPECT_EQ(st.tables_freed, 2u);
  EXPECT_EQ(st.ipis_sent, 3u);
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(s.m.k->cpus[3].loaded_mm, &s.m.k->init_mm());
  EXPECT_EQ(st.rcu_grace_periods, 1u);  // the table batch went through call_rcu
  EXPECT_EQ(s.m.k->mon.total(), 0u);
}

TEST(X86Flush, SecondFreeingFlushIpisTheFormerlyLazyCpuOnceMoreThenItLeavesTheMask) {
  x86_lazy_setup s;
  s.run([&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::sys_munmap(k, cpu, C, mm::PAGE_SIZE);
    co_await kern::sys_munmap(k, cpu, A, 2 * mm::PAGE_SIZE);  // A and B: frees their tables
  });
  const kern::metrics& st = s.m.k->stats;
  // The second flush again targets mm_cpumask, where CPU 3's bit is still set (the mask is
  // cleaned lazily). CPU 3 no longer has the mm loaded: flush_tlb_func clears its bit
  // (TLB_REMOTE_WRONG_CPU). So CPU 3 receives 2 IPIs in total, CPUs 1 and 2 also 2.
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 2, 2, 2}));
  EXPECT_EQ(st.flushes_by_reason.at("remote_wrong_cpu"), 1u);
  EXPECT_FALSE(s.mm->cpumask_.test(3));
  EXPECT_EQ(s.m.k->mon.total(), 0u);
}

TEST(X86Flush, WithoutWakingLazyCpusTheMonitorSeesTheLazyWalkCache) {
  patches::knob_set knobs;
  knobs.set(patches::knob::wake_lazy_on_freed_tables, false);
  x86_lazy_setup s(knobs);
  s.run([&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::sys_munmap(k, cpu, C, mm::PAGE_SIZE);
  });
  // Pitfall s12.1: the lazy CPU keeps the old CR3 and walk-cache entries into the freed
  // PTE and PMD tables.
  EXPECT_EQ(s.m.k->stats.ipis_received_per_cpu[3], 0u);
  ASSERT_GT(s.m.k->mon.total(), 0u);
  EXPECT_EQ(s.m.k->mon.violations()[0].inv, check::invariant::lazy_cpu_freed_table);
}

// kernel/exit.c exit_mm(): the exiting task drops current->mm and calls enter_lazy_tlb()
// before mmput(). exit_mmap's first flush (here the only one: one page, fullmm) therefore
// finds the CPU lazy: flush_tlb_func switches it to init_mm and returns before it traces
// TLB_LOCAL_MM_SHOOTDOWN. Its TLB keeps nothing of the mm, and the pgd is freed.
TEST(X86Flush, ExitMmapRunsOnALazyCpuWhoseFirstFlushSwitchesItToInitMm) {
  machine m("x86", 2);
  auto& mm = m.k->new_mm("proc");
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::sys_mmap(k, cpu, A, mm::PAGE_SIZE);
    co_await kern::user_access(k, cpu, A, true);
    co_await kern::mmput_last(k, cpu);
  });
  m.run();
  const auto& reasons = m.k->stats.flushes_by_reason;
  EXPECT_EQ(reasons.count("local_mm_shootdown"), 0u);
  EXPECT_EQ(m.k->stats.flush_requests, 1u);
  EXPECT_EQ(m.k->cpus[0].loaded_mm, &m.k->init_mm());
  EXPECT_FALSE(m.k->cpus[0].is_lazy);
  EXPECT_EQ(mm.pgd, 0u);
  EXPECT_EQ(m.k->mon.total(), 0u);
}

// x86-invlpgb, an mm running on 4 CPUs (arch/x86/mm/tlb.c). The first IPI flush gives it a
// global ASID (consider_global_asid: more than 3 CPUs active; the model checks at every
// flush). The next flush is INVLPGB, and finish_asid_transition IPIs the CPUs still on
// dynamic ASIDs, whose flush_tlb_func reloads them onto the global ASID (no flush) before
// any lazy check. Then each CPU walks A again under the global ASID. A last zap of D (in
// A's PTE table, no table freed) is one INVLPGB without FINAL_ONLY: it drops CPU 1's
// paging-structure entries for the range as well as the leaves.
TEST(X86Flush, InvlpgbDropsWalkCachesAndTheTransitionReloadsWithoutFlushing) {
  machine m("x86-invlpgb", 4);
  auto& mm = m.k->new_mm("proc");
  constexpr va_t D = A + 2 * mm::PAGE_SIZE;
  bool walk_cached_before = false, walk_cached_after = true;
  std::uint32_t asid_after_transition = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    for (va_t va : {A, B, C, D}) co_await kern::sys_mmap(k, cpu, va, mm::PAGE_SIZE);
    for (va_t va : {A, B, C, D}) co_await kern::user_access(k, cpu, va, true);
    co_await kern::user_run(k, cpu, 100'000);
    co_await kern::sys_madvise_dontneed(k, cpu, B, mm::PAGE_SIZE);  // IPIs; global ASID
    co_await kern::sys_madvise_dontneed(k, cpu, C, mm::PAGE_SIZE);  // INVLPGB + transition
    co_await kern::user_run(k, cpu, 200'000);
    co_await kern::sys_madvise_dontneed(k, cpu, D, mm::PAGE_SIZE);  // INVLPGB, leaf only
  });
  for (unsigned cpu = 1; cpu <= 3; ++cpu)
    m.start(cpu, [&, cpu](kernel& k, unsigned c) -> sim::task<> {
      co_await kern::user_run(k, c, 20'000);
      co_await kern::switch_to_task(k, c, mm);
      co_await kern::user_access(k, c, A, false);
      co_await kern::user_run(k, c, 150'000);  // the transition happens meanwhile
      if (cpu == 1) asid_after_transition = k.cpus[c].loaded_asid;
      co_await kern::user_access(k, c, A, false);  // walks under the global ASID
      const auto key = hw::tlb::walk_key(k.cpus[c].loaded_asid, 1, A);
      if (cpu == 1) walk_cached_before = k.cpus[c].tlb.find(key) != nullptr;
      co_await kern::user_run(k, c, 200'000);  // CPU 0 zaps D meanwhile
      if (cpu == 1) walk_cached_after = k.cpus[c].tlb.find(key) != nullptr;
    });
  m.run();
  ASSERT_NE(mm.global_asid, 0u);
  EXPECT_EQ(asid_after_transition, mm.global_asid);
  EXPECT_TRUE(walk_cached_before);
  EXPECT_FALSE(walk_cached_after);
  // The transition reload traces TLB_FLUSH_ON_TASK_SWITCH and flushes nothing: no
  // remote_shootdown from it; finish_asid_transition's IPI traces TLB_REMOTE_SEND_IPI.
  const auto& reasons = m.k->stats.flushes_by_reason;
  EXPECT_EQ(reasons.count("remote_shootdown") ? reasons.at("remote_shootdown") : 0, 3u);
  EXPECT_EQ(reasons.at("remote_send_ipi"), 2u);
  EXPECT_EQ(reasons.at("invlpgb"), 2u);
  EXPECT_EQ(m.k->mon.total(), 0u);
}

// tlb:tlb_flush as the kernel traces it: switch_mm_irqs_off() reaches reload_tlb on every
// switch to another mm and traces TLB_FLUSH_ON_TASK_SWITCH there, with TLB_FLUSH_ALL pages
// when choose_new_asid() needed a flush and 0 when the ASID slot was current. init_mm -> p
// (new slot: flush), p -> q (new slot: flush), q -> p (p's slot is current: no flush):
// three events, two flushes; a switch between two threads of q traces nothing.
TEST(X86Flush, EveryCrossMmSwitchTracesTaskSwitchFlushOrNot) {
  machine m("x86", 1);
  auto& p = m.k->new_mm("p");
  auto& q = m.k->new_mm("q");
  std::uint64_t flushes_of_p_slot = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, p);
    co_await kern::switch_to_task(k, cpu, q);
    const std::uint64_t gen = k.cpus[cpu].ctxs[0].tlb_gen;
    co_await kern::switch_to_task(k, cpu, p);
    flushes_of_p_slot = k.cpus[cpu].ctxs[0].tlb_gen - gen;
    co_await kern::switch_to_task(k, cpu, p);  // same mm, not lazy: returns early
  });
  m.run();
  EXPECT_EQ(m.k->stats.flushes_by_reason.at("task_switch"), 3u);
  EXPECT_EQ(flushes_of_p_slot, 0u);
}

// drivers/idle/intel_idle.c: a C-state with CPUIDLE_FLAG_TLB_FLUSHED makes the CPU call
// leave_mm() as it enters idle: it switches to init_mm and is not lazy; with halt it keeps
// the mm loaded lazily (enter_lazy_tlb).
TEST(X86Flush, IdleWithTlbFlushedStatesLeavesTheMm) {
  for (bool deep : {false, true}) {
    machine m("x86", 1);
    m.k->cfg.idle_tlb_flushed = deep;
    auto& mm = m.k->new_mm("proc");
    m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
      co_await kern::switch_to_task(k, cpu, mm);
      co_await kern::switch_to_idle(k, cpu);
    });
    m.run();
    EXPECT_EQ(m.k->cpus[0].loaded_mm == &m.k->init_mm(), deep);
    EXPECT_EQ(m.k->cpus[0].is_lazy, !deep);
  }
}

}  // namespace
}  // namespace sd::test
