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

// The version names the source state built (git describe at build time, not at configure
// time): a build after a commit reports that commit. Skips outside a git work tree.
TEST(Cli, VersionNamesTheSourceStateBuilt) {
  FILE* p = popen("git -C " SHOOTDOWN_SOURCE_DIR " describe --always --dirty 2>/dev/null", "r");
  std::array<char, 256> buf{};
  std::string described;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) described.append(buf.data(), n);
  const bool in_git = pclose(p) == 0 && !described.empty();
  if (!in_git) GTEST_SKIP() << "no git work tree at " SHOOTDOWN_SOURCE_DIR;
  while (!described.empty() && described.back() == '\n') described.pop_back();
  auto r = run("simulate --cpus 8 --scenario uffd-move --quiet --json -");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string v = nlohmann::json::parse(r.out)["config"]["version"];
  EXPECT_EQ(v.substr(v.find('+') + 1), described) << v;
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
      {"simulate --cpus 2 --set threads=4", "need 5 CPUs, the machine has 2"},
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

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The trace-event format the Perfetto UI and chrome://tracing import: a traceEvents array of
// objects with ph, pid, tid, name and (except metadata) ts in microseconds; complete events
// carry dur; flow starts ("s") and ends ("f") pair up by id, the end not before the start.
TEST(Trace, SimulateWritesValidTraceEventJsonWithIpiFlows) {
  const std::string path = ::testing::TempDir() + "trace.json";
  auto r = run("simulate --quiet --scenario khugepaged-collapse --cpus 4 --trace " + path);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = nlohmann::json::parse(slurp(path));
  ASSERT_TRUE(doc.contains("traceEvents"));
  std::map<std::uint64_t, double> flow_start;
  std::map<std::string, int> names;
  int flow_ends = 0;
  for (const auto& e : doc["traceEvents"]) {
    const std::string ph = e.at("ph");
    ASSERT_TRUE(ph == "M" || ph == "X" || ph == "i" || ph == "s" || ph == "f") << e.dump();
    ASSERT_TRUE(e.at("pid").is_number_integer() && e.at("tid").is_number_integer());
    ASSERT_TRUE(e.at("name").is_string());
    if (ph == "M") continue;
    ASSERT_GE(e.at("ts").get<double>(), 0.0);
    if (ph == "X") {
      ASSERT_GE(e.at("dur").get<double>(), 0.0);
    }
    if (ph == "s") flow_start[e.at("id")] = e.at("ts");
    if (ph == "f") {
      ++flow_ends;
      ASSERT_TRUE(flow_start.count(e.at("id"))) << "flow end without start: " << e.dump();
      EXPECT_GE(e.at("ts").get<double>(), flow_start[e.at("id")]);
    }
    ++names[e.at("name")];
  }
  // Every collapse: a flush (IPI to the 1 thread CPU) and a sync (IPIs to the 3 others).
  EXPECT_EQ(flow_ends, static_cast<int>(flow_start.size()));
  EXPECT_GT(flow_ends, 0);
  EXPECT_EQ(names["collapse_huge_page"], 4);
  EXPECT_EQ(names["tlb_remove_table_sync_one"], 4);
  EXPECT_GT(names["flush_tlb_mm_range"], 0);
  EXPECT_GT(names["ipi:call_function"], 0);
  EXPECT_GT(names["irqs_off"], 0);
  EXPECT_GT(names["tlb_flush"], 0);
  // Deterministic like every other output.
  const std::string first = slurp(path);
  ASSERT_EQ(run("simulate --quiet --scenario khugepaged-collapse --cpus 4 --trace " + path).code,
            0);
  EXPECT_EQ(slurp(path), first);
}

TEST(Compare, RowsPerPatchSetAndCpuCountWithRatiosAgainstTheFirst) {
  auto r =
      run("compare --scenario hugetlb-fork-exit --cpus 8 --patches v6.17,v7.0 --sweep-cpus "
          "4,8 --csv --metrics sync_broadcasts,op:child_exit");
  ASSERT_EQ(r.code, 0) << r.out;
  // header + 2 patch sets x 2 CPU counts
  EXPECT_EQ(lines(r.out), 5) << r.out;
  // 4 tables x 8 children: v6.17 32 syncs, v7.0 8 -> ratio 0.25 at each CPU count.
  EXPECT_NE(r.out.find("v6.17,4,32,1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("v7.0,4,8,0.25,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("v7.0,8,8,0.25,"), std::string::npos) << r.out;
  auto bad = run("compare --scenario hugetlb-fork-exit --patches v7.0,v9.9");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("unknown patch or preset 'v9.9'"), std::string::npos) << bad.out;
  auto badm = run("compare --patches v7.0 --metrics nonsense");
  EXPECT_EQ(badm.code, 2);
}

TEST(Compare, JobsRunInParallelAndChangeNoOutput) {
  const std::string args =
      "compare --scenario munmap-free-tables --patches none,v7.0 --sweep-cpus 4,16,32 --json - "
      "--jobs ";
  auto one = run(args + "1");
  auto two = run(args + "2");
  ASSERT_EQ(one.code, 0) << one.out;
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(run(args + "0").code, 2);
}

}  // namespace
