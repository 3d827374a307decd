// Issue 10 items 14-16: output a kernel engineer can read. Units on every duration in the
// tables, no trailing spaces, what a timed verdict covers, metrics explained with their
// kernel counterparts, latency percentiles, and rtla-osnoise-style noise per nohz_full CPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "run_binary.h"

namespace {

using sd::test::run_binary;

bool has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

std::string line_with(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (has(line, what)) return line;
  return "";
}

TEST(Output, TablesHaveUnitsAndNoTrailingSpaces) {
  for (const char* args :
       {"simulate", "simulate --scenario rt-isolated", "simulate --scenario khugepaged-collapse",
        "compare --scenario khugepaged-collapse --patches v7.0,v6.17", "list"}) {
    const auto r = run_binary(args);
    ASSERT_EQ(r.code, 0) << args << "\n" << r.out;
    std::istringstream in(r.out);
    int n = 0;
    for (std::string line; std::getline(in, line); ++n)
      EXPECT_TRUE(line.empty() || line.back() != ' ')
          << args << " line " << n << ": '" << line << "'";
  }
  const auto sim = run_binary("simulate");
  const std::string flush_ns = line_with(sim.out, "flush_ns");
  EXPECT_TRUE(has(flush_ns, " us") || has(flush_ns, " ns") || has(flush_ns, " ms")) << flush_ns;
  // What the simulated time is, and what the verdict covers.
  EXPECT_TRUE(has(sim.out, "workload finished at ")) << sim.out;
  EXPECT_TRUE(has(sim.out, "last event at ")) << sim.out;
  EXPECT_TRUE(has(sim.out, "covers only the interleaving")) << sim.out;
  EXPECT_TRUE(has(sim.out, "'shootdown check'")) << sim.out;
  const auto prog = run_binary("simulate --program zap-access");
  EXPECT_TRUE(has(prog.out, "'shootdown check --program zap-access' explores them")) << prog.out;

  const auto cmp = run_binary("compare --scenario khugepaged-collapse --patches v7.0,v6.17");
  EXPECT_TRUE(has(line_with(cmp.out, "op:collapse"), " us")) << cmp.out;
  EXPECT_TRUE(has(line_with(cmp.out, "sim_time_ns"), " ms")) << cmp.out;
  // CSV keeps plain nanoseconds for scripts.
  const auto csv = run_binary("compare --scenario khugepaged-collapse --patches v7.0,v6.17 --csv");
  EXPECT_FALSE(has(csv.out, " us")) << csv.out;
}

TEST(Output, ListMetricsGivesUnitMeaningAndKernelCounterpart) {
  const auto j = nlohmann::json::parse(run_binary("simulate --json -").out);
  const auto list = run_binary("list metrics");
  ASSERT_EQ(list.code, 0) << list.out;
  for (const auto& [name, v] : j["metrics"].items()) {
    if (!v.is_number_unsigned() || name == "model_steps" || name == "last_event_ns") continue;
    const std::string line = line_with(list.out, "  " + name + " ");
    EXPECT_FALSE(line.empty()) << name << " is not in 'list metrics'";
    EXPECT_TRUE(has(line, " count ") || has(line, " ns ")) << line;
  }
  EXPECT_TRUE(has(list.out, "on a real kernel: tracepoint tlb:tlb_flush")) << list.out;
}

TEST(Output, LatencyPercentilesAreOrdered) {
  for (const char* scenario : {"khugepaged-collapse", "mprotect-none-rw", "fork-cow-reuse"}) {
    const auto r = run_binary(std::string("simulate --json - --scenario ") + scenario);
    ASSERT_EQ(r.code, 0) << r.out;
    const auto ops = nlohmann::json::parse(r.out)["metrics"]["op_latency"];
    ASSERT_FALSE(ops.empty()) << scenario;
    for (const auto& [name, o] : ops.items()) {
      EXPECT_GT(o["count"].get<int>(), 0) << name;
      EXPECT_LE(o["p50_ns"].get<std::int64_t>(), o["p90_ns"].get<std::int64_t>()) << name;
      EXPECT_LE(o["p90_ns"].get<std::int64_t>(), o["p99_ns"].get<std::int64_t>()) << name;
      EXPECT_LE(o["p99_ns"].get<std::int64_t>(), o["max_ns"].get<std::int64_t>()) << name;
      EXPECT_GT(o["p50_ns"].get<std::int64_t>(), 0) << name;
    }
  }
}

TEST(Output, IsolatedCpuNoiseAddsUpToTheTotals) {
  const auto r = run_binary("simulate --scenario rt-isolated --cpus 8 --json -");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = nlohmann::json::parse(r.out)["metrics"];
  const auto& iso = m["isolated_cpus"];
  ASSERT_EQ(iso.size(), 4u) << m.dump();  // isolated = cpus / 2: CPUs 4-7
  std::uint64_t irqs = 0, noise = 0, calls = 0;
  for (const auto& c : iso) {
    EXPECT_GE(c["cpu"].get<int>(), 4);
    irqs += c["irqs"].get<std::uint64_t>();
    noise += c["noise_ns"].get<std::uint64_t>();
    calls += c["flush_calls"].get<std::uint64_t>() + c["sync_calls"].get<std::uint64_t>() +
             c["other_calls"].get<std::uint64_t>();
    EXPECT_LE(c["max_single_ns"].get<std::uint64_t>(), c["noise_ns"].get<std::uint64_t>());
  }
  EXPECT_EQ(irqs, m["ipis_to_isolated"].get<std::uint64_t>());
  EXPECT_EQ(noise, m["isolated_irq_ns"].get<std::uint64_t>());
  EXPECT_GE(calls, irqs);  // each IPI runs at least the call that raised it
  const auto table = run_binary("simulate --scenario rt-isolated --cpus 8");
  EXPECT_TRUE(has(table.out, "nohz_full CPUs (rtla osnoise top layout")) << table.out;
  EXPECT_TRUE(has(table.out, "% CPU Aval")) << table.out;
}

// Item 17: a progress line on stderr only on a terminal (script(1) gives the run one), never
// in a pipe, never with --quiet, and cleared before the results.
TEST(Output, ProgressOnlyOnATerminal) {
  if (std::system("command -v script > /dev/null") != 0) GTEST_SKIP() << "needs script(1)";
  const std::string check =
      std::string(SHOOTDOWN_BIN) + " check --program free-pgtables-gup-fast --bound 1";
  const auto tty = run_binary("--version >/dev/null; script -qec '" + check + "' /dev/null #");
  EXPECT_TRUE(has(tty.out, "check: ")) << tty.out;
  EXPECT_TRUE(has(tty.out, " executions, ")) << tty.out;
  EXPECT_TRUE(has(tty.out, "\r\033[K")) << "the line is cleared";
  const auto pipe = run_binary("check --program free-pgtables-gup-fast --bound 1");
  EXPECT_FALSE(has(pipe.out, " executions, ")) << pipe.out;
  const auto quiet =
      run_binary("--version >/dev/null; script -qec '" + check + " --quiet' /dev/null #");
  EXPECT_FALSE(has(quiet.out, " executions, ")) << quiet.out;
}

// What a dfs verdict covered says why the search stopped: at the first violation, at
// --max-executions, or not at all (every schedule within the bound).
TEST(Output, CheckCoverageSaysWhyTheSearchStopped) {
  const auto covered = [](const std::string& args) {
    const auto r = run_binary("check --program zap-access --json - " + args);
    return nlohmann::json::parse(r.out)["coverage"]["covered"].get<std::string>();
  };
  EXPECT_TRUE(has(covered("--knob flush_before_page_free=off"), "stopped at the first violation"));
  EXPECT_TRUE(has(covered("--max-executions 3"), "stopped at --max-executions 3"));
  EXPECT_EQ(covered(""), "every schedule with at most 2 preemptions");
}

// --replay '' is the default schedule, not "no --replay": it runs one execution and
// explores nothing (it once ran the whole search).
TEST(Output, CheckReplayOfTheEmptyScheduleRunsTheDefaultOne) {
  const auto r = run_binary("check --program zap-access --replay '' --json -");
  EXPECT_EQ(r.code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j.contains("coverage")) << r.out;
  EXPECT_FALSE(j["schedule"].get<std::string>().empty());
  EXPECT_EQ(j["verdict"], "no violation");
}

// A counterexample row names each step by the cost it is charged, and a long loop is written
// once with its count: munmap of 64 written pages zaps them one PTE at a time
// (zap_pte_range), then flushes the whole TLB on x86 (more than 33 pages: flush_full; the label
// once read "invlpgb_op", the parameter table not being in the enum's order).
TEST(Output, CheckRowsNameTheirStepsAndFoldLoops) {
  const std::string file = testing::TempDir() + "/loop.toml";
  std::ofstream(file) << "description = \"munmap of 64 written pages\"\nprocesses = [\"p\"]\n"
                         "[cpu.0]\nops = [\"enter p\", \"mmap 0 256KiB\", \"touch 0 64 write\", "
                         "\"munmap 0 256KiB\"]\n";
  const auto r = run_binary("check --program " + file + " --replay ''");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "64 x (pt_read, pt_write)")) << r.out;
  EXPECT_TRUE(has(r.out, "flush_tlb_mm_range: pt_read, remote_read, flush_full [irqs off]"))
      << r.out;
  EXPECT_FALSE(has(r.out, "invlpgb_op")) << r.out;
  // Short runs stay step by step.
  EXPECT_TRUE(has(r.out, "pt_read, pt_read, pt_read, spin_lock")) << r.out;
}

// Item 18: compare --plot draws with gnuplot; without gnuplot it says so, before any run.
TEST(Output, ComparePlotIsDrawnAndGnuplotsAbsenceIsAClearError) {
  const std::string svg = testing::TempDir() + "/sweep.svg";
  const std::string args =
      "compare --scenario hugetlb-fork-exit --patches v6.17,v7.0 --sweep-cpus 4,8 --plot-metric "
      "sync_ipis --plot ";
  if (std::system("command -v gnuplot > /dev/null") == 0) {
    const auto r = run_binary(args + svg);
    ASSERT_EQ(r.code, 0) << r.out;
    std::ifstream in(svg);
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(has(doc, "<svg")) << doc.substr(0, 200);
    EXPECT_TRUE(has(doc, "v6.17") && has(doc, "v7.0") && has(doc, "sync_ipis")) << "legend";
  }
  const auto absent = run_binary("--version > /dev/null; PATH=/nonexistent " +
                                 std::string(SHOOTDOWN_BIN) + " " + args + svg);
  EXPECT_EQ(absent.code, 2) << absent.out;
  EXPECT_TRUE(has(absent.out, "--plot: gnuplot is not installed")) << absent.out;
  const auto bad = run_binary("compare --patches v7.0 --sweep-cpus 4,8 --plot x.pdf");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(has(bad.out, "must end in .svg or .png")) << bad.out;
}

}  // namespace
