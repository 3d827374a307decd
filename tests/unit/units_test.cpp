#include <gtest/gtest.h>

#include <stdexcept>

#include "workload/config.h"
#include "workload/units.h"

namespace sd::workload {
namespace {

TEST(Units, SizesAndTimes) {
  EXPECT_EQ(parse_size("4096"), 4096);
  EXPECT_EQ(parse_size("4KiB"), 4096);
  EXPECT_EQ(parse_size("2MiB"), 2 << 20);
  EXPECT_EQ(parse_size("1TiB"), std::int64_t{1} << 40);
  EXPECT_EQ(parse_time_ns("300ns"), 300);
  EXPECT_EQ(parse_time_ns("1.5us"), 1500);
  EXPECT_EQ(parse_time_ns("3ms"), 3'000'000);
  EXPECT_THROW(parse_size("4KB"), std::invalid_argument);
  EXPECT_THROW(parse_time_ns("300"), std::invalid_argument);  // a time needs a unit
  EXPECT_THROW(parse_time_ns("0.5ns"), std::invalid_argument);
  EXPECT_EQ(format_size(4 << 20), "4MiB");
  EXPECT_EQ(format_time_ns(20'000), "20us");
}

TEST(ScenarioToml, PrecedenceAndValidation) {
  auto spec = parse_scenario_toml(
      "scenario = \"munmap-free-tables\"\n[machine]\ncpus = 16\n[params]\nthreads = 3\n", "t.toml");
  spec.params.push_back({"iterations", "2", "--set iterations"});
  const run_config cfg = resolve(spec);
  EXPECT_EQ(cfg.cpus, 16u);
  EXPECT_EQ(cfg.params.at("threads"), 3);
  EXPECT_EQ(cfg.params.at("iterations"), 2);
  EXPECT_EQ(cfg.params.at("lazy_cpus"), 4);  // default scales with CPUs: 16 / 4
}

TEST(ScenarioToml, ErrorsNameFileLineAndKey) {
  try {
    parse_scenario_toml("scenario = \"munmap-free-tables\"\n\n[machine]\nkores = 4\n", "m.toml");
    FAIL() << "expected an input_error";
  } catch (const input_error& e) {
    EXPECT_STREQ(e.what(),
                 "m.toml:4: [machine] kores: unknown key (known: arch, cpus, seed, patches)");
  }
  EXPECT_THROW(parse_scenario_toml("[params]\nthreads = 1\n", "n.toml"), input_error);
  EXPECT_THROW(parse_scenario_toml("scenario = \"munmap\"\n", "u.toml"), input_error);
  EXPECT_THROW(parse_scenario_toml("scenario = \n", "p.toml"), input_error);
}

}  // namespace
}  // namespace sd::workload
