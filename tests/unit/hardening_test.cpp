// Issue 10's defects, each a test named after it: inputs the tool used to accept silently,
// hang on, or answer without saying where the bad value was.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_binary.h"

namespace {

using sd::test::outcome;
outcome run(const std::string& args) {
  return sd::test::run_binary(args);
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

bool says(const outcome& r, const std::string& what) {
  return r.out.find(what) != std::string::npos;
}

// Defect 1: errors found after parsing (an unknown arch, parameters that do not fit the
// machine) named neither the file nor the line nor the key.
TEST(Hardening, ScenarioFileErrorsNameFileLineAndKey) {
  const std::string head = "scenario = \"munmap-free-tables\"\n";
  auto r =
      run("simulate --scenario " + temp_file("sparc.toml", head + "[machine]\narch = \"sparc\"\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "sparc.toml:3: [machine] arch: unknown arch 'sparc'")) << r.out;

  // Values that conflict: both keys, where each was set, and their values.
  r = run("simulate --scenario " +
          temp_file("threads.toml", head + "[machine]\ncpus = 8\n[params]\nthreads = 100\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "threads.toml:5: [params] threads = 100 and ")) << r.out;
  EXPECT_TRUE(says(r, "threads.toml:3: [machine] cpus = 8 conflict")) << r.out;
  EXPECT_TRUE(says(r, "lazy_cpus = 2, gup_fast = on: the defaults")) << r.out;

  r = run("simulate --scenario " + temp_file("region.toml", head + "[params]\nregion = 4096\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "region.toml:3: [params] region = 4KiB: ")) << r.out;
  EXPECT_TRUE(says(r, "touch_pages = 64: the default")) << r.out;

  // The command line names its flags the same way.
  r = run("simulate --cpus 2 --set threads=4");
  EXPECT_TRUE(says(r, "--set threads=4 and --cpus 2 conflict")) << r.out;
  r = run("simulate --arch sparc");
  EXPECT_TRUE(says(r, "--arch: unknown arch 'sparc'")) << r.out;
}

// Defect 5: "-1" and 2^64 wrapped silently to 2^64-1.
TEST(Hardening, SeedOutsideUint64IsRefused) {
  for (const char* cmd : {"simulate", "check --program zap-access"}) {
    auto r = run(std::string(cmd) + " --seed -1");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_TRUE(says(r, "--seed: '-1' is not a whole number")) << r.out;
    r = run(std::string(cmd) + " --seed 18446744073709551616");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_TRUE(says(r, "out of range: 0 to 18446744073709551615")) << r.out;
  }
  EXPECT_EQ(run("simulate --quiet --seed 18446744073709551615").code, 0);
}

// Defect 6: a full disk gave exit 0 and a truncated (empty) result.
TEST(Hardening, WriteErrorsExit2WithThePath) {
  for (const char* args : {"simulate --json /dev/full", "simulate --quiet --trace /dev/full",
                           "compare --patches v7.0,v6.17 --json /dev/full",
                           "check --program free-pgtables-gup-fast --bound 0 --json /dev/full"}) {
    auto r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_TRUE(says(r, "cannot write '/dev/full': No space left on device")) << args << r.out;
  }
  // The table on stdout too.
  const std::string err = testing::TempDir() + "/stderr.txt";
  const int status =
      std::system((std::string(SHOOTDOWN_BIN) + " simulate > /dev/full 2> " + err).c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  std::ifstream in(err);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cannot write to standard output"), std::string::npos) << text;
}

// Defect 7: output paths were opened after the run (minutes at 1024 CPUs), and --json -
// with --trace - interleaved two documents on stdout.
TEST(Hardening, OutputPathsAreOpenedBeforeTheRun) {
  auto r = run("simulate --cpus 1024 --trace /nonexistent/t.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "--trace: cannot open '/nonexistent/t.json': No such file or directory"))
      << r.out;
  for (const char* cmd : {"simulate", "check --program zap-access"}) {
    r = run(std::string(cmd) + " --json - --trace -");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_TRUE(says(r, "--json - and --trace -: only one of them can go to stdout")) << r.out;
  }
}

// Defect 8: --scenario /dev/zero read forever into memory.
TEST(Hardening, NonRegularAndHugeInputFilesAreRefused) {
  auto r = run("simulate --scenario /dev/zero");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "/dev/zero: not a regular file")) << r.out;
  r = run("check --program /dev/zero");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "/dev/zero: not a regular file")) << r.out;
  const std::string big = temp_file("big.toml", std::string((1 << 20) + 1, '#'));
  r = run("simulate --scenario " + big);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "big.toml: larger than 1 MiB")) << r.out;
}

// Defect 13: an unknown compare metric printed an empty column; CLI11's messages and help
// texts spoke its own jargon; limits were printed in the wrong unit.
TEST(Hardening, PlainWordsForBadNumbersUnknownMetricsAndLimits) {
  auto r = run("compare --patches v7.0 --metrics op:bogus");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(says(r, "--metrics op:bogus: no run performed operation 'bogus'")) << r.out;
  r = run("compare --scenario khugepaged-collapse --patches v7.0 --metrics op:collapse --csv");
  EXPECT_EQ(r.code, 0) << r.out;

  r = run("simulate --cpus abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "--cpus: 'abc' is not a whole number")) << r.out;
  r = run("simulate --cpus 5000");
  EXPECT_TRUE(says(r, "--cpus: 5000 is out of range: 1 to 4096")) << r.out;
  r = run("check --program zap-access --strategy foo");
  EXPECT_TRUE(says(r, "--strategy: 'foo' is not one of: dfs, random, pct")) << r.out;

  for (const char* cmd : {"simulate", "compare", "check", "host", "list"}) {
    r = run(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    for (const char* jargon : {"UINT", ":INT", "TEXT", " in [", ":{"})
      EXPECT_FALSE(says(r, jargon)) << cmd << " --help says " << jargon << "\n" << r.out;
  }

  r = run("simulate --scenario khugepaged-collapse --set scan_sleep=61s");
  EXPECT_TRUE(says(r, "between 0ns and 60s, got 61s")) << r.out;
}

// Defects 2-4: values that ran for minutes (--cost ipi_send=10s, --set user_work=60s),
// livelocked and filled memory (vcpu_preempt_interval=1ns) or overflowed time with exit 0
// (rcu_gp=5000000000s). Every time and cost now has a real machine's range.
TEST(Hardening, TimesAndCostsHaveARealMachinesRange) {
  const struct {
    const char* args;
    const char* says;
  } cases[] = {
      {"simulate --cost ipi_send=10s", "--cost ipi_send: at most 100us"},
      {"simulate --cost rcu_gp=5000000000s", "--cost rcu_gp: at most 1s"},
      {"simulate --arch arm64 --cost dsb_ish_per_cpu=9000000000s",
       "--cost dsb_ish_per_cpu: at most 100us"},
      {"simulate --set user_work=60s", "user_work must be between 0ns and 10ms"},
      {"simulate --arch x86-kvm --set vcpu_preempt_interval=1ns",
       "vcpu_preempt_interval must be 0 (never) or at least 10us"},
      {"simulate --program collapse-gup-fast --arch x86-kvm --set vcpu_preempt_interval=5us",
       "vcpu_preempt_interval must be 0 (never) or at least 10us"},
  };
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_TRUE(says(r, c.says)) << c.args << "\n" << r.out;
  }
  auto r = run("simulate --scenario " +
               temp_file("slow_ipi.toml",
                         "scenario = \"munmap-free-tables\"\n[cost]\nipi_delivery = \"1s\"\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(says(r, "slow_ipi.toml:3: [cost] ipi_delivery: at most 100us")) << r.out;
}

// Each scenario on each arch with every cost at the largest value it accepts finishes
// (the test's timeout is the hang guard) and holds its invariants.
TEST(Hardening, EveryCostAtItsMaximumFinishes) {
  const auto list = run("list costs");
  std::string args;
  std::istringstream in(list.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, x86, arm64, max;
    if (line.rfind("  ", 0) != 0 || line.rfind("      ", 0) == 0) continue;
    words >> name >> x86 >> arm64 >> max;
    args += " --cost " + name + "=" + max;
  }
  ASSERT_NE(args.find("rcu_gp=1s"), std::string::npos) << list.out;
  for (const char* scenario :
       {"munmap-free-tables", "hugetlb-fork-exit", "khugepaged-collapse", "rt-isolated",
        "mprotect-none-rw", "uffd-move", "fork-cow-reuse", "tlb-flush-threads"})
    for (const char* arch : {"x86", "x86-kvm", "x86-invlpgb", "arm64"}) {
      auto r =
          run(std::string("simulate --quiet --scenario ") + scenario + " --arch " + arch + args);
      EXPECT_EQ(r.code, 0) << scenario << " " << arch << "\n" << r.out;
    }
}

std::uint64_t model_steps(const std::string& args) {
  auto r = run(args + " --json -");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
  const auto at = r.out.find("\"model_steps\": ");
  return at == std::string::npos ? 0 : std::stoull(r.out.substr(at + 15));
}

// Defect 2: run time grew with simulated idle time (khugepaged sleeping 60 s made the
// process's threads step through 60 s of user time). Steps, not seconds, are compared: the
// same work whatever the sleep.
TEST(Hardening, KhugepagedSleepCostsNoSimulationSteps) {
  for (const char* scenario : {"khugepaged-collapse", "rt-isolated"}) {
    const std::string base = std::string("simulate --scenario ") + scenario;
    const auto short_sleep = model_steps(base + " --set scan_sleep=1ms");
    const auto long_sleep = model_steps(base + " --set scan_sleep=60s");
    EXPECT_GT(short_sleep, 0u);
    EXPECT_EQ(long_sleep, short_sleep) << scenario;
  }
}

// Defect 11: irqs_off slices overlapped kernel-path slices on the same track (Perfetto
// draws those wrong). Every track's complete slices must nest; every track has a name.
TEST(Hardening, TraceSlicesNestOnEveryTrack) {
  for (const char* args :
       {"--scenario hugetlb-fork-exit --cpus 64", "--scenario tlb-flush-threads --arch x86-invlpgb",
        "--scenario tlb-flush-threads --arch arm64",
        "--scenario munmap-free-tables --arch arm64 --cpus 16"}) {
    const std::string path = testing::TempDir() + "/nest.json";
    auto r = run(std::string("simulate --quiet ") + args + " --trace " + path);
    ASSERT_EQ(r.code, 0) << args << "\n" << r.out;
    std::ifstream in(path);
    const auto doc = nlohmann::json::parse(in);
    std::map<int, std::vector<std::pair<std::int64_t, std::int64_t>>> slices;  // per tid
    std::set<int> named, used;
    for (const auto& e : doc["traceEvents"]) {
      const int tid = e["tid"].get<int>();
      if (e["ph"] == "M") {
        if (e["name"] == "thread_name") named.insert(tid);
        continue;
      }
      used.insert(tid);
      if (e["ph"] != "X") continue;
      const auto ns = [](double us) { return static_cast<std::int64_t>(std::llround(us * 1000)); };
      const std::int64_t b = ns(e["ts"].get<double>());
      slices[tid].push_back({b, b + ns(e["dur"].get<double>())});
    }
    for (int tid : used) EXPECT_TRUE(named.contains(tid)) << args << ": track " << tid;
    for (auto& [tid, v] : slices) {
      // Outer slices first: by begin, then the longer first.
      std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first < y.first : x.second > y.second;
      });
      std::vector<std::int64_t> open;  // ends of the enclosing slices
      int overlaps = 0;
      for (const auto& [b, e] : v) {
        while (!open.empty() && open.back() <= b) open.pop_back();
        if (!open.empty() && e > open.back()) ++overlaps;
        open.push_back(e);
      }
      EXPECT_EQ(overlaps, 0) << args << ": track " << tid;
    }
  }
}

// Defect 12: a table freed by an RCU callback was said to be freed by "CPU 8" on an 8-CPU
// machine (the actor id of the rcu_gp kthread).
TEST(Hardening, ViolationsNameTheRcuKthreadNotACpu) {
  auto r = run("simulate --cpus 8 --knob wake_lazy_on_freed_tables=off --json -");
  ASSERT_EQ(r.code, 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["violations"].empty());
  bool kthread = false;
  for (const auto& v : j["violations"]) {
    for (const auto& c : v["cpus"]) EXPECT_LT(c.get<int>(), 8) << v.dump();
    EXPECT_EQ(v["detail"].get<std::string>().find("CPU 8"), std::string::npos) << v.dump();
    kthread = kthread || v["detail"].get<std::string>().find("rcu_gp kthread") != std::string::npos;
  }
  EXPECT_TRUE(kthread) << r.out;
}

}  // namespace
