// Zero invariant violations for every preset x built-in scenario x arch at small sizes:
// the modeled kernels are correct, so the monitors must stay silent (and no thread may
// deadlock). A violation here is a model bug or a broken preset.
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
