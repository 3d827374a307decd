// The binary as a user runs it: exit codes, one-line errors, byte-identical JSON for the
// same scenario and seed, and zero violations for every built-in scenario on every arch.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "arch/arch.h"
#include "run_binary.h"
#include "workload/builtin.h"

namespace {

using sd::test::outcome;
outcome run(const std::string& args) {
  return sd::test::run_binary(args);
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, DefaultSimulateRunsAndAllInvariantsHold) {
  auto r = run("simulate");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("invariants: all held"), std::string::npos) << r.out;
}

TEST(Cli, SameScenarioAndSeedGiveByteIdenticalJson) {
  auto a = run("simulate --cpus 16 --seed 7 --json -");
  auto b = run("simulate --cpus 16 --seed 7 --json -");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  // A different seed moves the GUP-fast walker, so the document differs.
  auto c = run("simulate --cpus 16 --seed 8 --json -");
  EXPECT_NE(a.out, c.out);
}

TEST(Cli, JsonHasTheDocumentedFields) {
  auto r = run("simulate --cpus 8 --arch arm64 --json -");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"scenario", "arch", "cpus", "seed", "patches", "version"})
    EXPECT_TRUE(j["config"].contains(k)) << k;
  for (const char* k :
       {"ipis_sent", "ipis_received_per_cpu", "cpus_interrupted", "tlbi_broadcasts",
        "flushes_by_reason", "sync_ipis", "rcu_grace_periods", "sim_time_ns", "ops_completed"})
    EXPECT_TRUE(j["metrics"].contains(k)) << k;
  EXPECT_EQ(j["metrics"]["ipis_received_per_cpu"].size(), 8u);
  EXPECT_EQ(j["metrics"]["ipis_sent"], 0);  // arm64 flushes by TLBI broadcast
  EXPECT_GT(j["metrics"]["tlbi_broadcasts"], 0);
  EXPECT_TRUE(j["violations"].is_array());
}

TEST(Cli, FreeingTablesBeforeTheFlushIsCaughtWithExitCode1) {
  for (const char* arch : {"x86", "arm64"}) {
    auto r = run(std::string("simulate --arch ") + arch +
                 " --knob flush_before_table_free=off --json -");
    EXPECT_EQ(r.code, 1) << arch << "\n" << r.out;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_GT(j["violations"].size(), 0u);
    const auto& v = j["violations"][0];
    EXPECT_EQ(v["invariant"], "walk-cache-freed-table");
    EXPECT_FALSE(v["cpus"].empty());
    EXPECT_NE(v["object"].get<std::string>().find("table page"), std::string::npos);
    EXPECT_NE(v["step"].get<std::string>().find("free_pgtables"), std::string::npos);
  }
}

TEST(Cli, ShippedScenarioFileRuns) {
  auto r = run(std::string("simulate --quiet --scenario ") + SHOOTDOWN_SOURCE_DIR +
               "/scenarios/munmap-free-tables-16.toml");
  EXPECT_EQ(r.code, 0) << r.out;
}

struct bad_case {
  const char* args;
  const char* says;
};

TEST(Cli, BadInputExits2WithAOneLineError) {
  const std::string bad_key = testing::TempDir() + "/bad_key.toml";
  std::ofstream(bad_key)
      << "scenario = \"munmap-free-tables\"\n[params]\nthreads = 2\nthredas = 3\n";
  const std::string bad_unit = testing::TempDir() + "/bad_unit.toml";
  std::ofstream(bad_unit)
      << "scenario = \"munmap-free-tables\"\n\n[cost]\nipi_send = \"3 parsecs\"\n";
  const std::string bad_machine = testing::TempDir() + "/bad_machine.toml";
  std::ofstream(bad_machine) << "scenario = \"munmap-free-tables\"\n[machine]\ncpus = 5000\n";
  const bad_case cases[] = {
      {"simulate --bogus", "--bogus"},
      {"simulate --scenario no-such-scenario", "unknown scenario 'no-such-scenario'"},
      {"simulate --cpus 0", "--cpus"},
      {"simulate --arch sparc", "unknown arch 'sparc'"},
      {"simulate --cpus 2 --set threads=4", "need 5 CPUs, but the machine has 2"},
      {"simulate --set region=lots", "expected a size"},
      {"simulate --knob no_such_knob=off", "unknown knob"},
      {"list bogus", "bogus"},
  };
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_EQ(lines(r.out), 1) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
  }
  // Scenario files: the error names the file, the line and the key.
  auto r = run("simulate --scenario " + bad_key);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad_key.toml:4: [params] thredas: unknown parameter"), std::string::npos)
      << r.out;
  r = run("simulate --scenario " + bad_unit);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad_unit.toml:4: [cost] ipi_send: expected a time"), std::string::npos)
      << r.out;
  r = run("simulate --scenario " + bad_machine);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad_machine.toml:3: [machine] cpus: impossible machine"), std::string::npos)
      << r.out;
}

TEST(Cli, ListShowsEveryRegistry) {
  auto r = run("list");
  EXPECT_EQ(r.code, 0);
  for (const char* s :
       {"arches:", "scenarios:", "knobs", "cost parameters", "invariants:", "munmap-free-tables",
        "flush_before_table_free", "ipi_send", "lazy-cpu-freed-table"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

}  // namespace
