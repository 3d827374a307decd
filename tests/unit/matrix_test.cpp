// Every preset x built-in scenario x arch at small sizes: the monitors stay silent (and no
// thread deadlocks) except for the one bug the old presets really have. A violation
// anywhere else is a model bug or a broken preset.
//
// The known bug: without c2ff4764e03e (every preset but v6.18.35 and v7.0.12) arm64 flushes
// an unshared hugetlb PMD table with a leaf-only TLBI, before 8ce720d and after it, leaving
// the unsharer's walk cache pointing at a table its mm no longer owns (kernel-mechanisms
// s3.3: "arm64: tlb: Flush walk cache when unsharing PMD tables", 2026, Fixes 8ce720d,
// CVE-2026-63875).
#include <gtest/gtest.h>

#include "arch/arch.h"
#include "patches/patches.h"
#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/run.h"

namespace {

using namespace sd;

workload::run_result run(std::string_view scenario, std::string_view arch, unsigned cpus,
                         std::string_view patches) {
  workload::scenario_spec spec = workload::load_scenario(std::string(scenario));
  spec.arch = std::string(arch);
  spec.cpus = cpus;
  spec.patches = workload::setting{"patches", std::string(patches), "test"};
  return workload::simulate(workload::resolve(spec));
}

class Matrix : public ::testing::TestWithParam<std::string_view> {};

TEST_P(Matrix, EveryScenarioAndArchHoldsTheInvariants) {
  for (const auto& s : workload::builtins())
    for (const auto& a : arch::arches())
      for (unsigned cpus : {4u, 16u}) {
        const auto r = run(s.name, a.name, cpus, GetParam());
        const patches::patch_set set = patches::parse_patch_set(GetParam());
        const bool known = s.name == "hugetlb-fork-exit" && a.name == "arm64" &&
                           !set[patches::feature::arm64_unshare_walk_flush];
        if (known) {
          ASSERT_GT(r.violations_total, 0u) << cpus << " CPUs, " << GetParam();
          for (const auto& v : r.violations)
            EXPECT_EQ(v.inv, check::invariant::walk_cache_unshared_table) << v.detail;
          continue;
        }
        EXPECT_EQ(r.violations_total, 0u)
            << s.name << " " << a.name << " " << cpus << " CPUs, " << GetParam() << ": "
            << (r.violations.empty() ? std::string() : r.violations[0].detail);
        EXPECT_GT(r.stats.ops_completed, 0u) << s.name << " " << a.name;
      }
}

std::vector<std::string_view> preset_names() {
  std::vector<std::string_view> v;
  for (const auto& p : patches::presets()) v.push_back(p.name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Presets, Matrix, ::testing::ValuesIn(preset_names()),
                         [](const auto& info) {
                           std::string n(info.param);
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
