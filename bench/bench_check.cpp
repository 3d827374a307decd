// check's speed: time to verdict and executions per second for every shipped program at 2
// and 3 CPUs (dfs, default bound), and time to the first counterexample of each buggy
// variant; triage's wall time on the seeds' backports. Run: build/bench_check
// [--benchmark_filter=...] (README "Benchmarks").
#include <benchmark/benchmark.h>

#include <algorithm>

#include <thread>

#include "check/explorer.h"
#include "program/program.h"
#include "sim/huge_heap.h"
#include "triage/triage.h"

namespace {

sd::check::check_config config(const std::string& prog, const std::string& arch, unsigned cpus,
                               const std::string& patches, const char* knob_off) {
  sd::check::check_config c;
  c.prog = sd::program::load_program(prog);
  c.arch = arch;
  c.cpus = cpus;
  c.patch_spec = patches;
  c.patches = sd::patches::parse_patch_set(patches);
  if (knob_off) c.knobs.set(*sd::patches::find_knob(knob_off), false);
  return c;
}

void run(benchmark::State& state, const sd::check::check_config& c,
         sd::check::explore_options o = {}) {
  sd::check::explore_result r;
  for (auto _ : state) r = sd::check::explore(c, o);
  state.counters["executions"] = static_cast<double>(r.executions);
  state.counters["executions_per_s"] = static_cast<double>(r.executions) / r.seconds;
  state.counters["violation"] = r.violation ? 1 : 0;
  state.counters["exhausted"] = r.exhausted ? 1 : 0;
  state.counters["pruned"] = static_cast<double>(r.pruned);
}

// Every shipped program, every arch the issue names, 2 and 3 CPUs (or the program's own
// count when it needs more): the verdict of v7.0.
void register_verdicts() {
  for (const auto& p : sd::program::shipped_programs()) {
    const unsigned min = sd::program::load_program(std::string(p.name)).min_cpus();
    const std::vector<unsigned> counts =
        min > 3 ? std::vector<unsigned>{min} : std::vector<unsigned>{2u, 3u};
    for (const char* arch : {"x86", "x86-kvm", "arm64"})
      for (unsigned cpus : counts) {
        const std::string name =
            "verdict/" + std::string(p.name) + "/" + arch + "/" + std::to_string(cpus);
        const auto c = config(std::string(p.name), arch, cpus, "v7.0", nullptr);
        benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { run(s, c); })
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
  }
}

struct buggy {
  const char* program;
  const char* arch;
  const char* patches;
  const char* knob_off;
};
constexpr buggy k_buggy[] = {
    {"collapse-gup-fast", "x86-kvm", "v7.0-sync-skip+skip-redundant-sync-ipi-forced", nullptr},
    {"collapse-gup-fast", "arm64", "v7.0+skip-redundant-sync-ipi-forced", nullptr},
    {"collapse-gup-fast", "x86-kvm", "v7.0-sync-skip+skip-redundant-sync-ipi-kvm", nullptr},
    {"collapse-gup-fast", "arm64", "v7.0+sync-ipi-kernel-mode-only-as-posted", nullptr},
    {"hugetlb-unshare-gup-fast", "x86-kvm", "none", nullptr},
    {"hugetlb-unshare-lazy", "x86", "v7.0+skip-redundant-sync-ipi", nullptr},
    {"free-pgtables-gup-fast", "arm64", "v7.0", "rcu_table_free"},
    {"free-pgtables-lazy", "x86", "v7.0", "wake_lazy_on_freed_tables"},
    {"nested-gather", "x86", "v7.0", "nested_gather_force_flush"},
    {"zap-access", "x86-kvm", "v7.0", "kvm_flush_on_entry"},
    {"mm-switch-flush", "x86", "v7.0", "switch_mm_tlb_gen_catchup"},
    {"invlpgb-zap-access", "x86-invlpgb", "v7.0", "tlbsync_after_invlpgb"},
    {"collapse-perf-nmi", "arm64", "v7.0+sync-ipi-kernel-mode-only", nullptr},
};

void register_counterexamples() {
  for (const auto& b : k_buggy) {
    const std::string name = std::string("first_violation/") + b.program + "/" + b.arch + "/" +
                             b.patches + (b.knob_off ? std::string("/") + b.knob_off + "=off" : "");
    const unsigned cpus = std::max(2u, sd::program::load_program(b.program).min_cpus());
    const auto c = config(b.program, b.arch, cpus, b.patches, b.knob_off);
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { run(s, c); })
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
}

// The sleep-set reduction, 2 CPUs, one thread, with and without it: executions explored and
// time to the same verdict. On x86 with every hardware choice offered (--walks all
// --evictions); on x86-kvm with the default choices (a vCPU preemption at every step).
void register_reduction() {
  const struct {
    const char* arch;
    bool every_choice;
    std::vector<const char*> programs;
  } sets[] = {
      {"x86", true, {"collapse-gup-fast", "free-pgtables-lazy", "zap-access", "exit-lazy"}},
      {"x86-kvm", false, {"collapse-gup-fast", "zap-access", "mprotect-write", "wp-reuse"}}};
  for (const auto& set : sets)
    for (const char* prog : set.programs)
      for (bool reduce : {true, false}) {
        const std::string name = std::string("reduction/") + prog + "/" + set.arch +
                                 (set.every_choice ? "/walks-all+evictions/" : "/default/") +
                                 (reduce ? "sleep-sets" : "none");
        auto c = config(prog, set.arch, 2, "v7.0", nullptr);
        c.walks_all = c.evictions = set.every_choice;
        sd::check::explore_options o;
        o.reduce = reduce;
        benchmark::RegisterBenchmark(name.c_str(), [c, o](benchmark::State& s) { run(s, c, o); })
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
}

// triage (issue 11): seed 003's backport at 196 CPUs on x86, x86-kvm and arm64, and seeds
// 000/001's sync skip on every arch, with every core (wall time: the runs go in parallel).
void register_triage() {
  const struct {
    const char* name;
    const char* from;
    const char* to;
    std::vector<std::string> arches;
  } cases[] = {{"triage/seed003/v6.17->v6.17-backport/196",
                "v6.17",
                "v6.17-backport",
                {"x86", "x86-kvm", "arm64"}},
               {"triage/seed000-001/v7.0->v7.0-sync-skip/196",
                "v7.0",
                "v7.0-sync-skip",
                {"x86", "x86-kvm", "x86-invlpgb", "arm64"}}};
  for (const auto& c : cases) {
    sd::triage::options o;
    o.from = c.from;
    o.to = c.to;
    o.arches = c.arches;
    o.cpus = 196;
    o.jobs = std::max(1u, std::thread::hardware_concurrency());
    benchmark::RegisterBenchmark(c.name,
                                 [o](benchmark::State& s) {
                                   sd::triage::result r;
                                   for (auto _ : s) r = sd::triage::run(o);
                                   s.counters["check_runs"] = static_cast<double>(r.check_runs);
                                   s.counters["cost_runs"] = static_cast<double>(r.cost_runs);
                                 })
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kSecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  sd::sim::back_heap_with_huge_pages();  // as shootdown's main does
  register_triage();
  register_counterexamples();
  register_reduction();
  register_verdicts();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
