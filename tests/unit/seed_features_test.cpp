// The seed patches' effects, each with exact or bounded numbers derived from the kernel's
// rules (kernel-mechanisms.md sections in the comments).
#include <gtest/gtest.h>

#include "program/program.h"
#include "workload/config.h"
#include "workload/run.h"

namespace {

using namespace sd;

workload::run_result run(const std::string& scenario, const std::string& arch, unsigned cpus,
                         const std::string& patches,
                         std::vector<std::pair<std::string, std::string>> params = {}) {
  workload::scenario_spec spec = workload::load_scenario(scenario);
  spec.arch = arch;
  spec.cpus = cpus;
  spec.patches = workload::setting{"patches", patches, "test"};
  for (auto& [k, v] : params) spec.params.push_back({k, v, "test"});
  auto r = workload::simulate(workload::resolve(spec));
  EXPECT_EQ(r.violations_total, 0u) << scenario << " " << arch << " " << patches;
  return r;
}

const kern::metrics::op_stat& op(const workload::run_result& r, const std::string& name) {
  static const kern::metrics::op_stat none;
  auto it = r.stats.op_latency.find(name);
  return it == r.stats.op_latency.end() ? none : it->second;
}

std::uint64_t reason(const workload::run_result& r, const std::string& name) {
  auto it = r.stats.flushes_by_reason.find(name);
  return it == r.stats.flushes_by_reason.end() ? 0 : it->second;
}

// hugetlb-fork-exit, 64 CPUs, T = 3 shared PMD tables, C = 4 children (s5.3-5.5).
constexpr unsigned k_cpus = 64;
const std::vector<std::pair<std::string, std::string>> k_hugetlb = {{"tables", "3"},
                                                                    {"children", "4"}};

TEST(HugetlbForkExit, V617SendsOneSyncBroadcastPerUnsharedTableEveryExit) {
  // 1013af4: huge_pmd_unshare syncs for each table, shared or not afterwards: C x T. Each
  // broadcast is smp_call_function with wait to the 63 other CPUs, whose queues are empty
  // again when the next one starts: 63 physical IPIs each.
  const auto r = run("hugetlb-fork-exit", "x86", k_cpus, "v6.17", k_hugetlb);
  EXPECT_EQ(r.stats.pmd_tables_unshared, 4u * 3u);
  EXPECT_EQ(r.stats.sync_broadcasts, 4u * 3u);
  EXPECT_EQ(r.stats.sync_ipis, 4u * 3u * 63u);
}

TEST(HugetlbForkExit, AChildSharesOnlyTheWindowsItFaultsIn) {
  // mm/memory.c copy_page_range(): vma_needs_copy() is false for a MAP_SHARED hugetlb VMA
  // (no anon_vma, not VM_COPY_ON_FORK; since v6.0, bcd51a3c679d), so fork shares nothing;
  // a child shares a window's PMD table when it faults there (huge_pmd_share). A child that
  // touches nothing unshares nothing at exit; one touch = one window = one table per exit.
  auto none = k_hugetlb;
  none.emplace_back("touch", "0");
  const auto idle = run("hugetlb-fork-exit", "x86", k_cpus, "v6.17", none);
  EXPECT_EQ(idle.stats.pmd_tables_unshared, 0u);
  EXPECT_EQ(idle.stats.sync_broadcasts, 0u);
  auto one = k_hugetlb;
  one.emplace_back("touch", "1");
  const auto single = run("hugetlb-fork-exit", "x86", k_cpus, "v6.17", one);
  EXPECT_EQ(single.stats.pmd_tables_unshared, 4u);  // C x 1, not C x T
  EXPECT_EQ(single.stats.sync_broadcasts, 4u);
}

TEST(HugetlbForkExit, V70SendsAtMostOnePerExitAndNoneWhenNotTheLastSharer) {
  // 8ce720d: one sync per gather, and only when a table became exclusive. Serial children:
  // each exit leaves the parent the only owner -> exactly one per exit.
  const auto serial = run("hugetlb-fork-exit", "x86", k_cpus, "v7.0", k_hugetlb);
  EXPECT_EQ(serial.stats.sync_broadcasts, 4u);
  // Two children alive at once: the first exit of each pair leaves the tables shared with
  // the other child -> no sync; the second makes them exclusive -> one. 4 children = 2.
  auto conc = k_hugetlb;
  conc.emplace_back("concurrent", "2");
  const auto paired = run("hugetlb-fork-exit", "x86", k_cpus, "v7.0", conc);
  EXPECT_EQ(paired.stats.pmd_tables_unshared, 4u * 3u);
  EXPECT_EQ(paired.stats.sync_broadcasts, 2u);
}

TEST(HugetlbForkExit, SyncSkipRemovesTheSeparateBroadcastOnNativeX86Only) {
  // Seeds 000/001: on native x86 the unshare flush (with wake_lazy_cpus) already IPI'd every
  // CPU that can walk the mm, so the sync returns early; arm64's flush is a TLBI that
  // interrupts nobody, so the sync stays (s3.8).
  const auto x86 = run("hugetlb-fork-exit", "x86", k_cpus, "v7.0-sync-skip", k_hugetlb);
  EXPECT_EQ(x86.stats.sync_broadcasts, 0u);
  EXPECT_EQ(x86.stats.sync_skipped, 4u);
  // KVM's PV flush skips preempted vCPUs and INVLPGB interrupts nobody: the static key is
  // off on both (s2.10), so the sync stays too.
  for (const char* arch : {"arm64", "x86-kvm", "x86-invlpgb"}) {
    const auto r = run("hugetlb-fork-exit", arch, k_cpus, "v7.0-sync-skip", k_hugetlb);
    EXPECT_EQ(r.stats.sync_broadcasts, 4u) << arch;
    EXPECT_EQ(r.stats.sync_skipped, 0u) << arch;
  }
}

// khugepaged-collapse, 8 CPUs: 3 threads on CPUs 0-2, khugepaged on CPU 7, R ranges (s6).
const std::vector<std::pair<std::string, std::string>> k_collapse = {{"threads", "3"},
                                                                     {"ranges", "4"}};

TEST(KhugepagedCollapse, V70FlushesThenSyncsEveryCollapse) {
  // pmdp_collapse_flush -> flush_tlb_range (x86: IPIs to the 3 thread CPUs, the mm's
  // cpumask; khugepaged's CPU never ran the mm) then tlb_remove_table_sync_one: the 7 other
  // CPUs. One more collapse adds exactly one flush round (3 IPIs) and one broadcast (7).
  const auto r4 = run("khugepaged-collapse", "x86", 8, "v7.0", k_collapse);
  auto five = k_collapse;
  five[1].second = "5";
  const auto r5 = run("khugepaged-collapse", "x86", 8, "v7.0", five);
  EXPECT_EQ(r4.stats.collapses, 4u);
  EXPECT_EQ(r4.stats.sync_broadcasts, 4u);
  EXPECT_EQ(r4.stats.sync_ipis, 4u * 7u);
  EXPECT_EQ(r5.stats.flush_ipis - r4.stats.flush_ipis, 3u);
  EXPECT_EQ(op(r4, "collapse").flushes, 4u);  // one flush per collapse
}

TEST(KhugepagedCollapse, SkipOrCollapseFlushSyncRemovesTheSyncOnNativeX86) {
  const auto base = run("khugepaged-collapse", "x86", 8, "v7.0", k_collapse);
  for (const char* p : {"v7.0+skip-redundant-sync-ipi", "v7.0+collapse-flush-sync"}) {
    const auto r = run("khugepaged-collapse", "x86", 8, p, k_collapse);
    EXPECT_EQ(r.stats.sync_broadcasts, 0u) << p;
    EXPECT_EQ(r.stats.sync_skipped, 4u) << p;
    EXPECT_EQ(r.stats.flush_ipis, base.stats.flush_ipis) << p;  // the flush round stays
  }
}

TEST(KhugepagedCollapse, Arm64KvmAndInvlpgbKeepTheSyncWithEitherFeature) {
  // arm64's flush is a TLBI (no IPI); KVM's flush may have skipped a preempted vCPU, so v3
  // records no sent_ipi there; INVLPGB systems have the static key off. The sync stays.
  for (const char* arch : {"arm64", "x86-kvm", "x86-invlpgb"})
    for (const char* p : {"v7.0", "v7.0+skip-redundant-sync-ipi", "v7.0+collapse-flush-sync"}) {
      const auto r = run("khugepaged-collapse", arch, 8, p, k_collapse);
      EXPECT_EQ(r.stats.sync_broadcasts, 4u) << arch << " " << p;
      EXPECT_EQ(r.stats.sync_ipis, 4u * 7u) << arch << " " << p;
    }
}

TEST(X86Backends, InvlpgbStopsFlushIpisOnceTheMmHasAGlobalAsid) {
  // tlb-flush-threads on 8 CPUs: the mm runs on all 8, so the first IPI flush gives it a
  // global ASID (> 3 active CPUs); from then on flushes are INVLPGB broadcasts. The
  // transition's IPIs (and the exit's lazy-CPU wakeups) remain.
  const auto native = run("tlb-flush-threads", "x86", 8, "v7.0", {{"iterations", "50"}});
  const auto invlpgb = run("tlb-flush-threads", "x86-invlpgb", 8, "v7.0", {{"iterations", "50"}});
  EXPECT_GT(reason(invlpgb, "invlpgb"), 300u);
  EXPECT_LT(invlpgb.stats.flush_ipis * 10, native.stats.flush_ipis);
}

// will-it-scale runs for a fixed time: a thread starts no loop after `duration`, so the
// loops done grow with it until `iterations` caps them.
TEST(Scenarios, TlbFlushThreadsStartsNoLoopAfterItsDuration) {
  auto loops = [](const char* duration) {
    return run("tlb-flush-threads", "x86", 32, "v7.0", {{"duration", duration}})
        .stats.ops_completed;
  };
  const auto short_run = loops("200us");
  const auto longer_run = loops("400us");
  EXPECT_GE(short_run, 32u);  // every thread starts one loop at once
  EXPECT_GT(longer_run, short_run);
  EXPECT_LT(longer_run, 3200u);
  EXPECT_EQ(loops("60s"), 3200u);  // 32 threads x 100 iterations
}

TEST(X86Backends, KvmSkipsPreemptedVcpusOnlyWhenTheyArePreempted) {
  const auto busy = run("tlb-flush-threads", "x86-kvm", 8, "v7.0",
                        {{"vcpu_preempt_interval", "200us"}, {"vcpu_preempt_time", "50us"}});
  EXPECT_GT(reason(busy, "kvm_preempted_skip"), 0u);
  const auto idle =
      run("tlb-flush-threads", "x86-kvm", 8, "v7.0", {{"vcpu_preempt_interval", "0ns"}});
  EXPECT_EQ(reason(idle, "kvm_preempted_skip"), 0u);
  // Without preemption the guest is native x86 with IPIs 4.8x as expensive.
  const auto native = run("tlb-flush-threads", "x86", 8, "v7.0");
  EXPECT_EQ(idle.stats.flush_requests, native.stats.flush_requests);
  EXPECT_GT(idle.stats.sim_time_ns, native.stats.sim_time_ns);
}

// rt-isolated, 8 CPUs: other process on CPUs 0-2, khugepaged on 3, isolated CPUs 4-7.
const std::vector<std::pair<std::string, std::string>> k_rt = {
    {"isolated", "4"}, {"threads", "3"}, {"ranges", "5"}};

TEST(RtIsolated, IsolatedCpusGetEverySyncAtBaselineAndNoneWithSeed004) {
  // Baseline: each of the 5 syncs IPIs every other online CPU, the 4 isolated ones
  // included (they run user code with IRQs on, so each takes it).
  const auto base = run("rt-isolated", "x86", 8, "v7.0", k_rt);
  EXPECT_EQ(base.stats.ipis_to_isolated, 5u * 4u);
  EXPECT_GT(base.stats.isolated_irq_ns, 0);
  // 3/3: their context-tracking state is USER (nohz_full) -> skipped. 2/3: they are not in
  // the collapsed mm's cpumask -> not targeted.
  for (const char* p : {"v7.0+sync-ipi-kernel-mode-only", "v7.0+sync-ipi-mm-cpumask"}) {
    const auto r = run("rt-isolated", "x86", 8, p, k_rt);
    EXPECT_EQ(r.stats.ipis_to_isolated, 0u) << p;
    EXPECT_EQ(r.stats.isolated_irq_ns, 0) << p;
  }
  // arm64 has no mm_cpumask: 2/3 cannot narrow the targets there.
  const auto arm = run("rt-isolated", "arm64", 8, "v7.0+sync-ipi-mm-cpumask", k_rt);
  EXPECT_EQ(arm.stats.ipis_to_isolated, 5u * 4u);
}

TEST(UffdMove, OneFlushPerPageWithoutBatchingOnePerPmdBoundedBatchWithIt) {
  // move_pages_pte: ptep_clear_flush per page before 5094469; after it one flush_tlb_range
  // per batch, a batch ending at the next PMD boundary of source or destination.
  for (const char* arch : {"x86", "arm64"}) {
    const auto before = run("uffd-move", arch, 4, "v6.17", {{"moves", "1"}});
    EXPECT_EQ(op(before, "uffd_move").flushes, 512u) << arch;
    const auto after = run("uffd-move", arch, 4, "v7.0", {{"moves", "1"}});
    EXPECT_EQ(op(after, "uffd_move").flushes, 1u) << arch;
    const auto crossing =
        run("uffd-move", arch, 4, "v7.0", {{"moves", "1"}, {"offset_pages", "256"}});
    EXPECT_EQ(op(crossing, "uffd_move").flushes, 2u) << arch;
    EXPECT_EQ(crossing.stats.pages_moved, 512u);
  }
}

TEST(MprotectNoneRw, Arm64DropsTheNoneToRwFlushWithPteNeedsFlush) {
  // arm64 without c320dbb: generic pte_needs_flush() is always true -> one flush per call;
  // with it the old PTE was invalid -> none. RW->NONE clears the valid bit: always flushed.
  const auto before = run("mprotect-none-rw", "arm64", 4, "v6.17", {{"iterations", "10"}});
  EXPECT_EQ(op(before, "mprotect_rw").flushes, 10u);
  EXPECT_EQ(op(before, "mprotect_none").flushes, 10u);
  const auto after = run("mprotect-none-rw", "arm64", 4, "v7.0", {{"iterations", "10"}});
  EXPECT_EQ(op(after, "mprotect_rw").flushes, 0u);
  EXPECT_EQ(op(after, "mprotect_none").flushes, 10u);
  EXPECT_LT(op(after, "mprotect_rw").total_ns, op(before, "mprotect_rw").total_ns);
  // x86's pte_needs_flush: old PTE not present -> no flush, with or without the arm64 patch.
  for (const char* p : {"v6.17", "v7.0"}) {
    const auto x86 = run("mprotect-none-rw", "x86", 4, p, {{"iterations", "10"}});
    EXPECT_EQ(op(x86, "mprotect_rw").flushes, 0u) << p;
    EXPECT_EQ(op(x86, "mprotect_none").flushes, 10u) << p;
  }
}

TEST(ForkCowReuse, Arm64ReuseBroadcastsBecomeLocalFlushesAndSpuriousFaults) {
  // 3 threads, 32 pages, 2 rounds. Each page's first write reuses it (refcount 1 after the
  // child exited): 2 x 32 reuse faults. Before the patch each broadcasts TLBI VALE1IS.
  const std::vector<std::pair<std::string, std::string>> p = {
      {"threads", "3"}, {"pages", "32"}, {"rounds", "2"}};
  const auto before = run("fork-cow-reuse", "arm64", 4, "v6.18", p);
  EXPECT_EQ(before.stats.wp_reuse_faults, 64u);
  EXPECT_EQ(reason(before, "tlbi_local"), 0u);
  EXPECT_GE(reason(before, "tlbi_range_leaf"), 64u);
  // After: a local flush per reuse; each of the 2 other threads still holds the read-only
  // entry it cached after the fork, so its first write faults spuriously and flushes
  // locally: 2 x 64 spurious faults, 64 + 128 local flushes, no leaf broadcast.
  const auto after = run("fork-cow-reuse", "arm64", 4, "v7.0", p);
  EXPECT_EQ(after.stats.wp_reuse_faults, 64u);
  EXPECT_EQ(after.stats.spurious_faults, 128u);
  EXPECT_EQ(reason(after, "tlbi_local"), 64u + 128u);
  EXPECT_EQ(reason(after, "tlbi_range_leaf"), 0u);
}

// CPU 0 maps 2 MiB, touches one page, and unmaps it with `op` while CPU 1 runs the mm (it
// touched the page too), so every flush IPIs CPU 1.
workload::run_result free_path(const std::string& op, const std::string& arch,
                               const std::string& patches, bool batch_alloc = true) {
  const std::string text =
      "description = \"t\"\nprocesses = [\"p\"]\n[cpu.0]\nops = [\"enter p\", \"mmap 0 2MiB\", "
      "\"touch 0 1 write\", \"signal a\", \"wait b\", \"" +
      op +
      "\", \"signal c\"]\n[cpu.1]\nops = [\"enter p\", \"wait a\", \"touch 0 1 read\", "
      "\"signal b\", \"wait c\"]\n";
  workload::scenario_spec spec;
  spec.parsed_program =
      std::make_shared<const program::program>(program::parse_program(text, "t.toml"));
  spec.arch = arch;
  spec.cpus = 2;
  spec.patches = workload::setting{"patches", patches, "test"};
  if (!batch_alloc) spec.knobs.push_back({"table_batch_alloc", "off", "test"});
  auto r = workload::simulate(workload::resolve(spec));
  EXPECT_EQ(r.violations_total, 0u) << op << " " << arch << " " << patches;
  return r;
}

// PT_RECLAIM (mm/memory.c zap_pte_range, 2026 mm tree): MADV_DONTNEED over the whole 2 MiB
// of a PTE table empties it, so the PMD is cleared and pte_free_tlb() queues the table: one
// flush with freed_tables at tlb_finish_mmu (the zapped page and the table together; x86
// IPIs CPU 1), then the table batch is freed after one grace period. A 4 KiB DONTNEED does
// not cover the table (end - start < PMD_SIZE) and frees none. arm64 has PT_RECLAIM from v7.0
// (9c8c02df3f87), x86-64 since 6.14.
TEST(SeedFeatures, PtReclaimFreesThePteTableADontneedEmptiesWhole) {
  const auto whole = free_path("madvise_dontneed 0 2MiB", "x86", "v7.0");
  EXPECT_EQ(whole.stats.tables_freed, 1u);
  EXPECT_EQ(whole.stats.flush_requests, 1u);
  EXPECT_EQ(whole.stats.flush_ipis, 1u);
  EXPECT_EQ(whole.stats.rcu_grace_periods, 1u);
  EXPECT_EQ(free_path("madvise_dontneed 0 4KiB", "x86", "v7.0").stats.tables_freed, 0u);
  EXPECT_EQ(free_path("madvise_dontneed 0 2MiB", "x86", "none").stats.tables_freed, 0u);
  EXPECT_EQ(free_path("madvise_dontneed 0 2MiB", "arm64", "v6.18").stats.tables_freed, 0u);
  EXPECT_EQ(free_path("madvise_dontneed 0 2MiB", "arm64", "v7.0").stats.tables_freed, 1u);
}

// A failed table-batch allocation (mm/mmu_gather.c tlb_remove_table): tlb_table_invalidate()
// flushes what the gather recorded, then tlb_remove_table_one() frees the one table. munmap
// of the 2 MiB VMA frees 3 tables (PTE, PMD, PUD); each failure flushes (free_table_tlb
// recorded a range again), so 3 flushes and nothing left for tlb_finish_mmu. The table
// then goes: with PT_RECLAIM (v7.0, x86) through call_rcu; without it (none) after a sync
// IPI to CPU 1, 3 broadcasts; with 1fb3d8c20bfa after synchronize_rcu, 3 grace periods in
// turn and no IPI. With the batch, the 3 tables share one flush and one grace period.
TEST(SeedFeatures, TableBatchAllocationFailureFallsBackPerKernelVersion) {
  const auto batched = free_path("munmap 0 2MiB", "x86", "v7.0");
  EXPECT_EQ(batched.stats.tables_freed, 3u);
  EXPECT_EQ(batched.stats.flush_requests, 1u);
  EXPECT_EQ(batched.stats.rcu_grace_periods, 1u);

  const auto reclaim = free_path("munmap 0 2MiB", "x86", "v7.0", false);
  EXPECT_EQ(reclaim.stats.tables_freed, 3u);
  EXPECT_EQ(reclaim.stats.flush_requests, 3u);
  EXPECT_EQ(reclaim.stats.sync_broadcasts, 0u);
  EXPECT_GE(reclaim.stats.rcu_grace_periods, 1u);  // call_rcu callbacks may share one

  const auto ipi = free_path("munmap 0 2MiB", "x86", "none", false);
  EXPECT_EQ(ipi.stats.tables_freed, 3u);
  EXPECT_EQ(ipi.stats.flush_requests, 3u);
  EXPECT_EQ(ipi.stats.sync_broadcasts, 3u);
  EXPECT_EQ(ipi.stats.sync_ipis, 3u);
  EXPECT_EQ(ipi.stats.rcu_grace_periods, 0u);

  const auto gp = free_path("munmap 0 2MiB", "x86", "none+table-free-sync-rcu", false);
  EXPECT_EQ(gp.stats.sync_broadcasts, 0u);
  EXPECT_EQ(gp.stats.rcu_grace_periods, 3u);

  // Seed 000 lets both syncs return early on native x86: the fallback's own flush IPI'd CPU 1.
  const auto skip = free_path("munmap 0 2MiB", "x86", "none+skip-redundant-sync-ipi", false);
  EXPECT_EQ(skip.stats.sync_broadcasts, 0u);
  EXPECT_EQ(skip.stats.sync_skipped, 3u);
  EXPECT_EQ(skip.stats.flush_ipis, 3u);
}

}  // namespace
