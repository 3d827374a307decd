// triage: the registry is complete and names what exists; '~' removes features; the
// verdicts the issue asks for are pinned, each derived from the kernel's rule in a comment.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "program/program.h"
#include "report/triage_report.h"
#include "tests/unit/run_binary.h"
#include "triage/reading.h"
#include "triage/registry.h"
#include "triage/triage.h"
#include "workload/config.h"

namespace sd::triage {
namespace {

using patches::feature;

const row& find_row(const result& r, feature f, const std::string& arch) {
  const auto it = std::find_if(r.rows.begin(), r.rows.end(),
                               [&](const row& x) { return x.feature == f && x.arch == arch; });
  if (it == r.rows.end()) throw std::runtime_error("no row");
  return *it;
}

const check_outcome* variant_violation(const row& r, feature v) {
  for (const auto& ve : r.variants)
    if (ve.variant == v)
      for (const auto& c : ve.runs)
        if (c.violation) return &c;
  return nullptr;
}

// The sync skip's row on an arch where the kernel keeps it off: no effect; returns the
// violation the forced variant finds there, if any.
const check_outcome* forced_violation(const result& r, const std::string& arch) {
  const row& x = find_row(r, feature::skip_redundant_sync_ipi, arch);
  EXPECT_EQ(x.verdict, safety::no_effect) << arch << ": " << x.reading;
  return variant_violation(x, feature::skip_redundant_sync_ipi_forced);
}

TEST(TriageRegistry, EveryFeatureHasAnEntryNamingShippedProgramsAndScenarios) {
  for (const auto& f : patches::features()) {
    const entry* e = find_entry(f.id);
    ASSERT_NE(e, nullptr) << f.name;
    if (e->programs.empty() && !e->scenario) {
      EXPECT_FALSE(e->not_modeled.empty()) << f.name;
    }
    for (const auto& t : e->programs) {
      EXPECT_NO_THROW(program::load_program(std::string(t.program))) << t.program;
      for (auto k : t.knobs_off) {
        EXPECT_TRUE(patches::find_knob(k)) << k;
      }
    }
    if (e->scenario) {
      EXPECT_NO_THROW(workload::load_scenario(std::string(e->scenario->scenario)));
      for (auto k : e->scenario->knobs_off) {
        EXPECT_TRUE(patches::find_knob(k)) << k;
      }
    }
  }
}

TEST(PatchSet, TildeRemovesFeaturesLeftToRight) {
  const auto s = patches::parse_patch_set("v6.17-backport~hugetlb-unshare-gather");
  EXPECT_FALSE(s[feature::hugetlb_unshare_gather]);
  EXPECT_TRUE(s[feature::hugetlb_unshare_sync_per_table]);
  EXPECT_TRUE(s[feature::uffd_move_batch]);
  EXPECT_EQ(patches::parse_patch_set("v7.0~v7.0"), patches::parse_patch_set("none"));
  EXPECT_TRUE(
      patches::parse_patch_set("v7.0~uffd-move-batch+uffd-move-batch")[feature::uffd_move_batch]);
  EXPECT_THROW(patches::parse_patch_set("v7.0~"), std::invalid_argument);
  EXPECT_THROW(patches::parse_patch_set("~v7.0"), std::invalid_argument);
  EXPECT_THROW(patches::parse_patch_set("v7.0~nope"), std::invalid_argument);
}

// Each stable and mainline preset holds what the release notes of the stable list show
// (patches.cpp): 8ce720d from 6.18.13, arm64's c2ff4764e03e (which fixes it) from 6.18.35
// and 7.0.12 but in no release before, and the two arm64 speed-ups merged for 6.19 in no 6.18.
TEST(PatchSet, PresetsHoldWhatTheReleaseNotesShow) {
  const auto has = [](const char* preset, feature f) {
    return patches::parse_patch_set(preset)[f];
  };
  for (const char* p : {"v6.18", "v6.18.13", "v6.18.35"}) {
    EXPECT_FALSE(has(p, feature::arm64_pte_needs_flush)) << p;
    EXPECT_FALSE(has(p, feature::arm64_wp_reuse_local_flush)) << p;
    EXPECT_TRUE(has(p, feature::uffd_move_batch)) << p;
  }
  EXPECT_FALSE(has("v6.18", feature::hugetlb_unshare_gather));
  for (const char* p : {"v6.18.13", "v6.18.35", "v6.19", "v7.0", "v7.0.12"})
    EXPECT_TRUE(has(p, feature::hugetlb_unshare_gather)) << p;
  for (const char* p : {"v6.17-backport", "v6.18.13", "v6.19", "v7.0"})
    EXPECT_FALSE(has(p, feature::arm64_unshare_walk_flush)) << p;
  for (const char* p : {"v6.18.35", "v7.0.12", "v7.0-sync-skip"})
    EXPECT_TRUE(has(p, feature::arm64_unshare_walk_flush)) << p;
  EXPECT_TRUE(has("v6.19", feature::arm64_pte_needs_flush));
  EXPECT_TRUE(has("v6.19", feature::arm64_wp_reuse_local_flush));
  EXPECT_FALSE(has("v6.19", feature::pt_reclaim_generic));  // 9c8c02df3f87 is 7.0
  // The stable presets add to their release and take nothing away.
  const auto adds_to = [](const char* base, const char* stable) {
    const auto b = patches::parse_patch_set(base), s = patches::parse_patch_set(stable);
    for (const auto& f : patches::features())
      if (b[f.id] && !s[f.id]) return false;
    return !(b == s);
  };
  EXPECT_TRUE(adds_to("v6.18", "v6.18.13"));
  EXPECT_TRUE(adds_to("v6.18.13", "v6.18.35"));
  EXPECT_TRUE(adds_to("v7.0", "v7.0.12"));
  EXPECT_EQ(patches::k_default_preset, "v7.0.12");
}

// Seed 003's backport on arm64 and x86 (the first "must show").
TEST(Triage, Seed003BackportIsUnsafeOnArm64WithoutTheWalkCacheFixAndOnX86WithoutWakeLazy) {
  options o;
  o.from = "v6.17";
  o.to = "v6.17-backport";
  o.arches = {"x86", "arm64"};
  // hugetlb-unshare-gup-fast exhausts in 25,340 counted executions for the pair on x86
  o.jobs = 2;
  const result r = run(o);
  // arm64: before 8ce720d, huge_pmd_unshare flushed with a last-level TLBI, so a CPU's
  // walk cache keeps the pointer to the unshared PMD table; 8ce720d's flush through the
  // gather is leaf-only too (tlb_flush reads freed_tables only) until c2ff4764e03e, which
  // the backport list does not have: unsafe with and without the gather.
  const row& arm = find_row(r, feature::hugetlb_unshare_gather, "arm64");
  EXPECT_EQ(arm.verdict, safety::unsafe_either_way) << arm.reading;
  EXPECT_TRUE(arm.programs[0].without.violation);
  EXPECT_EQ(arm.programs[0].without.invariant, "walk-cache-unshared-table");
  EXPECT_EQ(arm.programs[0].with.invariant, "walk-cache-unshared-table");
  EXPECT_NE(arm.programs[0].without.replay.find("v6.17-backport~hugetlb-unshare-gather"),
            std::string::npos);
  // x86: the unshare flush IPIs every CPU running the mm with or without the gather, so
  // GUP-fast is fenced either way; but without x86-wake-lazy-on-unshare (not in the
  // backport) the flush skips lazy CPUs, whose walk cache keeps the table with or without
  // the gather: the --to set itself is unsafe there.
  const row& x86 = find_row(r, feature::hugetlb_unshare_gather, "x86");
  EXPECT_EQ(x86.verdict, safety::unsafe_either_way) << x86.reading;
  EXPECT_FALSE(x86.programs[0].with.violation);
  EXPECT_FALSE(x86.programs[0].without.violation);
  EXPECT_TRUE(x86.programs[0].with.exhausted && x86.programs[0].without.exhausted);
  EXPECT_TRUE(x86.programs[1].with.violation);
  ASSERT_TRUE(x86.cost);
  // One sync per gather instead of one per unshared table: fewer IPIs with the feature.
  const auto ipis = std::find_if(x86.cost->changed.begin(), x86.cost->changed.end(),
                                 [](const auto& m) { return m.metric == "sync_broadcasts"; });
  ASSERT_NE(ipis, x86.cost->changed.end());
  EXPECT_LT(ipis->with, ipis->without);
  // The arm64-only features change nothing on x86 (declared: arm64 code), and on arm64
  // they save broadcast TLBIs without being needed for safety.
  EXPECT_EQ(find_row(r, feature::arm64_pte_needs_flush, "x86").verdict, safety::no_effect);
  EXPECT_TRUE(find_row(r, feature::arm64_pte_needs_flush, "x86").programs.empty());
  const row& wp = find_row(r, feature::arm64_wp_reuse_local_flush, "arm64");
  EXPECT_EQ(wp.verdict, safety::not_required) << wp.reading;
  EXPECT_EQ(find_row(r, feature::hugetlb_pmd_shared_fix, "x86").verdict, safety::not_checked);
  // The --to set's own violations, and what fixes each: on x86 wake_lazy_cpus =
  // freed_tables || unshared_tables makes the unshare flush reach the lazy CPU; on arm64
  // c2ff4764e03e makes it drop the walk cache, for the lazy CPU and the GUP-fast walker's.
  ASSERT_EQ(r.to_violations.size(), 3u);
  const auto fixed_by = [](const unsafe_to& u, feature f) {
    const auto fix = std::find_if(u.tried.begin(), u.tried.end(),
                                  [f](const fix_attempt& t) { return t.feature == f; });
    return fix != u.tried.end() && !fix->run.violation && fix->run.exhausted;
  };
  unsigned x86_lazy = 0, arm64_walk = 0;
  for (const unsafe_to& u : r.to_violations) {
    if (u.run.arch == "x86") {
      EXPECT_EQ(u.run.program, "hugetlb-unshare-lazy");
      x86_lazy += fixed_by(u, feature::x86_wake_lazy_on_unshare);
    } else {
      EXPECT_EQ(u.run.arch, "arm64");
      EXPECT_EQ(u.run.invariant, "walk-cache-unshared-table");
      arm64_walk += fixed_by(u, feature::arm64_unshare_walk_flush);
    }
  }
  EXPECT_EQ(x86_lazy, 1u);
  EXPECT_EQ(arm64_walk, 2u);  // hugetlb-unshare-gup-fast and hugetlb-unshare-lazy
}

// Seed 003 on x86-kvm, capped (its GUP-fast runs do not exhaust within 1,000,000 executions):
// the same reading as native x86, since the unshare flush and the per-table sync both wait
// for the walker's vCPU (the sync IPI is not a PV flush: it waits for preempted vCPUs too).
TEST(Triage, Seed003OnKvmMatchesNativeX86) {
  options o;
  o.from = "v6.17";
  o.to = "v6.17-backport";
  o.arches = {"x86-kvm"};
  o.max_executions = 20'000;
  o.jobs = 2;
  const result r = run(o);
  const row& gather = find_row(r, feature::hugetlb_unshare_gather, "x86-kvm");
  EXPECT_EQ(gather.verdict, safety::unsafe_either_way) << gather.reading;
  EXPECT_FALSE(gather.programs[0].with.violation || gather.programs[0].without.violation);
  EXPECT_FALSE(gather.programs[0].with.exhausted);  // capped, and the reading says so
  EXPECT_NE(gather.reading.find("capped"), std::string::npos) << gather.reading;
  const row& uffd = find_row(r, feature::uffd_move_batch, "x86-kvm");
  EXPECT_EQ(uffd.verdict, safety::not_required) << uffd.reading;
  ASSERT_TRUE(uffd.cost);
  const auto h = headline(*uffd.cost);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->metric, "ipis_sent");  // one flush per PMD-bounded batch, not per page
  EXPECT_LT(h->with * 100, h->without);
  EXPECT_EQ(find_row(r, feature::arm64_wp_reuse_local_flush, "x86-kvm").verdict, safety::no_effect);
}

// The second "must show": the sync skip is safe where the kernel enables it and a
// violation where it would be forced on.
TEST(Triage, SyncSkipIsSafeWhereTheKernelEnablesItAndUnsafeWhereForced) {
  options o;
  o.from = "v7.0";
  o.to = "v7.0-sync-skip";
  o.arches = {"x86", "x86-kvm", "x86-invlpgb", "arm64"};
  o.max_executions = 20'000;
  o.jobs = 2;
  const result r = run(o);
  // Native x86: the skip fires only when the flush IPI'd and waited for every CPU that can
  // be in a lockless walk (tlb_table_flush_implies_ipi_broadcast), so the walker was fenced.
  const row& x86 = find_row(r, feature::skip_redundant_sync_ipi, "x86");
  EXPECT_EQ(x86.verdict, safety::not_required) << x86.reading;
  EXPECT_EQ(variant_violation(x86, feature::skip_redundant_sync_ipi_forced), nullptr);
  // x86-kvm: the kernel keeps the skip off (the PV flush skips preempted vCPUs), so the
  // feature changes nothing; forced on, a preempted vCPU inside GUP-fast is skipped by the
  // flush and by the sync, and the old PTE table is freed under it.
  const auto* forced = forced_violation(r, "x86-kvm");
  ASSERT_NE(forced, nullptr);
  EXPECT_EQ(forced->invariant, "pt-use-after-free");
  EXPECT_NE(variant_violation(find_row(r, feature::skip_redundant_sync_ipi, "x86-kvm"),
                              feature::skip_redundant_sync_ipi_kvm),
            nullptr);
  // x86-invlpgb: on an mm with a global ASID (4 CPUs) the collapse flush is INVLPGB and
  // interrupts nobody; the kernel keeps the skip off (no native_flush_tlb_multi), forced
  // on it leaves the walker unfenced (found by the PCT-sampled 4-CPU program).
  const auto* on_invlpgb = forced_violation(r, "x86-invlpgb");
  ASSERT_NE(on_invlpgb, nullptr);
  EXPECT_EQ(on_invlpgb->program, "invlpgb-collapse-gup-fast");
  EXPECT_EQ(on_invlpgb->strategy, "pct");
  // arm64: the TLBI interrupts nobody, so forcing the skip leaves the walker unfenced.
  EXPECT_NE(forced_violation(r, "arm64"), nullptr);
  // The skip needs wake-lazy-on-unshare: without it the unshare flush skips lazy CPUs
  // (wake_lazy_cpus = freed_tables only), so a lazy CPU keeps the unshared table cached.
  const row& lazy = find_row(r, feature::x86_wake_lazy_on_unshare, "x86");
  EXPECT_EQ(lazy.verdict, safety::required) << lazy.reading;
  ASSERT_EQ(lazy.removed_with.size(), 1u);
  EXPECT_EQ(lazy.removed_with[0], feature::skip_redundant_sync_ipi);
  EXPECT_EQ(find_row(r, feature::x86_wake_lazy_on_unshare, "arm64").verdict, safety::no_effect);
  EXPECT_TRUE(r.to_violations.empty());
}

TEST(TriageCli, ForcedSkipOnArm64MakesItUnsafeExitOneAndSameOutputWithAnyJobs) {
  const std::string args =
      "triage --from v7.0 --to v7.0+skip-redundant-sync-ipi-forced --arches arm64 "
      "--max-executions 3000 --json -";
  const auto one = test::run_binary(args + " --jobs 1");
  const auto two = test::run_binary(args + " --jobs 2");
  EXPECT_EQ(one.code, 1) << one.out;
  auto a = nlohmann::json::parse(one.out);
  auto b = nlohmann::json::parse(two.out);
  EXPECT_EQ(a["rows"][0]["safety"], "makes-unsafe");
  EXPECT_FALSE(a["to_violations"].empty());
  // Identical apart from the wall-clock times.
  for (auto* j : {&a, &b}) {
    j->erase("seconds");
    for (auto& row : (*j)["rows"])
      for (auto& p : row["programs"])
        for (auto side : {"with", "without"}) p[side].erase("seconds");
    for (auto& v : (*j)["to_violations"]) {
      v.erase("seconds");
      for (auto& t : v["fixes_tried"]) t["run"].erase("seconds");
    }
  }
  EXPECT_EQ(a, b);
}

TEST(TriageCli, ListTriageShowsWhatRunsForEveryFeature) {
  const auto r = test::run_binary("list triage");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const auto& f : patches::features())
    EXPECT_NE(r.out.find("\n  " + std::string(f.name) + "\n"), std::string::npos) << f.name;
  EXPECT_NE(r.out.find("free-pgtables-gup-fast (table_batch_alloc=off)"), std::string::npos);
  EXPECT_NE(r.out.find("invlpgb-collapse-gup-fast (on x86-invlpgb, 20000 PCT schedules)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("needs:    x86-wake-lazy-on-unshare"), std::string::npos);
}

TEST(TriageCli, BadInputIsExitTwoNamingTheFlag) {
  auto r = test::run_binary("triage --from v7.0 --to v7.0+nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--to"), std::string::npos) << r.out;
  r = test::run_binary("triage --from v7.0 --to v7.0 --arches mips");
  EXPECT_EQ(r.code, 2);
}

TEST(TriageCli, MarkdownHasOneRowPerFeatureAndArch) {
  const auto r = test::run_binary(
      "triage --from v6.17 --to v6.17+arm64-pte-needs-flush --arches x86,arm64 --markdown");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("| `arm64-pte-needs-flush` |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| x86 | no-effect |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| arm64 | not-required |"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sd::triage
