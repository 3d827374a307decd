// Issue 9 item 13: for every host scenario, what this machine's kernel does and what the
// model of this machine predicts for the same workload (`host --predict`) agree, count by
// count. Runs where the machine allows (tracepoints readable, huge pages reservable), skips
// saying why otherwise.
//
// A row passes when it is equal (within host --predict's tolerance: 0.05 or 2% per op, plus
// for the machine-wide interrupt lines what the idle window before the phase saw), when the
// prediction explains the difference (a guest whose hypervisor flushes remote TLBs by
// hypercall: no flush IPI arrives; other CPUs that left the mm, so fewer flush IPIs were
// sent: predict.cpp cpus_left_the_mm), or when it is one of the differences listed below with
// its cause and stays within the range that cause can produce. The machine-wide interrupt lines get
// 0.2 per op more, plus 300 per second of the op's time: other activity on the machine adds to them
// while a phase runs, more than the idle window before it can show (a CI run under ASan saw 0.225
// more call-function interrupts per 0.94 ms collapse than the model's one sync: about 240 per
// second). Every passing difference is printed, so a run shows what it allowed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "run_binary.h"

namespace {

struct case_def {
  const char* scenario;
  const char* args;  // short runs: the counts per op do not depend on the op count
};

// A difference whose cause is established, and the range of measured minus model (per op)
// that cause can produce: a row outside it fails, so a waiver cannot hide a model or host
// change that moves the count (a model back at 3 task switches per serial child, a host
// count that falls below the model where the cause only adds). The ranges hold what runs
// by hand and in CI measured on the development guest (the closing notes of issue 9), with
// a margin.
struct known_difference {
  const char* why;
  double lo, hi;  // measured - model, per op
};

// (scenario, phase, count) -> why the host and the model differ there, as established.
const std::map<std::string, known_difference>& known_differences() {
  static const std::map<std::string, known_difference> k{
      // predict/twins.cpp cow_twin. Each such fault adds one flush: seen +0.10 to +0.13,
      // +0.21 to +0.23 in the ASan + UBSan build. Where the host counts the process's
      // write-protect faults (x86), predict explains the difference with them and these
      // ranges are the fallback.
      {"fork-cow-reuse/copy/flushes_by_reason.local_mm_shootdown",
       {"copy-on-write faults on the host process's own pages in the window, about 8 to 10 per "
        "fork",
        0, 0.5}},
      {"fork-cow-reuse/copy/flushes_by_reason.remote_send_ipi",
       {"copy-on-write faults on the host process's own pages in the window, about 8 to 10 per "
        "fork",
        0, 1}},
      // predict/twins.cpp hugetlb_serial_twin; README hugetlb-fork-exit. Seen +41 to +45
      // per child with the C library's fork(), whose handlers wrote dozens of pages; forked
      // without them (host/bare_fork.h) +5 to +7, +8 to +9.5 in the ASan + UBSan build.
      // Explained by the counted write-protect faults where the host has them (x86).
      {"hugetlb-fork-exit/serial/flushes_by_reason.local_mm_shootdown",
       {"copy-on-write faults on the host process's own pages between fork and exit", 0, 20}},
      // The Firecracker KVM guest: 1 or 2 of 16 children's own copy-on-write flushes (the
      // remote_send_ipi row, explained by the counted write-protect faults) found another
      // CPU running the child's mm and queued a flush IPI there.
      {"hugetlb-fork-exit/serial/csd_queued.flush_tlb_func",
       {"a copy-on-write flush of the host process's own pages that found another CPU in the "
        "mm's cpumask",
        0, 0.25}},
      // Such a flush whose CPU so IPI'd had already switched away from the mm (a stale
      // mm_cpumask bit: flush_tlb_func traces remote_wrong_cpu): 1 of 16 children.
      {"hugetlb-fork-exit/serial/flushes_by_reason.remote_wrong_cpu",
       {"a copy-on-write flush of the host process's own pages that IPI'd a CPU which had "
        "left the mm",
        0, 0.25}},
      {"hugetlb-fork-exit/burst/flushes_by_reason.remote_wrong_cpu",
       {"a copy-on-write flush of the host process's own pages that IPI'd a CPU which had "
        "left the mm",
        0, 0.25}},
      {"hugetlb-fork-exit/burst/csd_queued.flush_tlb_func",
       {"a copy-on-write flush of the host process's own pages that found another CPU in the "
        "mm's cpumask",
        0, 0.25}},
      {"hugetlb-fork-exit/serial/flushes_by_reason.remote_send_ipi",
       {"copy-on-write faults on the host process's own pages between fork and exit", 0, 20}},
      // The call-function lines: host counts the scheduler's cross-calls machine-wide, and
      // predict explains an excess they cover (Predict.SchedulerCrossCalls...); traced, the
      // line is the syncs plus those calls (a serial repeat of 64: 87 interrupts, 64 syncs,
      // 28 scheduler calls). The ranges catch what they do not cover.
      {"hugetlb-fork-exit/serial/call_function_interrupts",
       {"a machine-wide line over ops of about 4 ms of fork and exit: besides the model's "
        "one sync, the scheduler's cross-calls (remote wake-ups, idle-balance kicks: 0.4 to "
        "0.9 per op counted), which the model does not run",
        -0.25, 1.5}},
      {"hugetlb-fork-exit/concurrent/flushes_by_reason.local_mm_shootdown",
       {"copy-on-write faults on the host process's own pages between fork and exit", 0, 20}},
      {"hugetlb-fork-exit/concurrent/flushes_by_reason.remote_send_ipi",
       {"copy-on-write faults on the host process's own pages between fork and exit", 0, 20}},
      // Traced machine-wide (perf record -a -e tlb:tlb_flush --filter 'reason == 0' -e
      // sched:sched_process_exit around `host --scenario hugetlb-fork-exit --iterations 64
      // --repeat 1`, events by the pid of each process that exited): a serial child makes 2
      // switches (the lazy switch of its exit_mmap, its final switch), 8 of 64 children 3; a
      // concurrent child 4 (61 of 64; 3 in the others). A shorter run that also traced
      // sched:sched_switch (--iterations 4) shows why: the parent and the concurrent children
      // preempt one another as they are forked and woken (prev_state R), and exit in another
      // order than they were forked. Seen -0.19 to +0.44 (serial; below 0 only with a build
      // running beside it), +0.88 to +1.69 (concurrent, which counts its forks too).
      {"hugetlb-fork-exit/serial/flushes_by_reason.task_switch",
       {"some children switch away once more before their exit (8 of 64 children traced "
        "machine-wide had 3 switches instead of 2), which the process's counters see; "
        "otherwise the process counts the parent's switch to each child, as the model; "
        "with a build running beside it the count fell below one (0.81 and 0.94 per child). "
        "Traced then (perf record -a -e sched:sched_switch -e tlb:tlb_flush, --iterations "
        "16): 7 of 16 serial children were first switched to from a kernel thread "
        "(ksoftirqd/0 5, rcu_preempt 2) that had kept the parent's mm lazily, and that "
        "thread's context made the task-switch flush to the child's mm, which the process's "
        "counters do not see. A child that preempts its parent before fork() returns "
        "switches back to it to wait for the parent's go and is switched to again: two more "
        "in that round (1 to 6 of 64 rounds in quiet runs)",
        -1, 2}},
      // Explained by the process's counted switches (sched:sched_switch) where the host has
      // them: 1.53 to 1.61 per child against the twin's 1.25 on 6.18.44.
      {"hugetlb-fork-exit/concurrent/flushes_by_reason.task_switch",
       {"the host's parent and children preempt one another as the children are forked and "
        "report (traced machine-wide: a child switches away about twice before its exit); the "
        "twin runs each child to its wait in turn",
        -0.25, 3}},
      {"hugetlb-fork-exit/concurrent/call_function_interrupts",
       {"a machine-wide line: besides the model's 1 sync per 8 children, the scheduler's "
        "cross-calls (0.3 to 0.7 per child counted), which the model does not run",
        -0.125, 1.5}},
      // The syncs are counted machine-wide here (csd_queued_missing): another process's
      // page-table-free sync in the window would count too, so a little more is allowed,
      // never fewer. Serial runs missed 1 to 6 of 16 syncs before the children waited for
      // the parent's go (host/phases.cpp hugetlb_rounds): a child that preempted its parent
      // ran between two windows.
      {"hugetlb-fork-exit/concurrent/csd_queued.tlb_remove_table_smp_sync",
       {"counted machine-wide: any other process's sync in the window counts too", 0, 0.25}},
      {"hugetlb-fork-exit/serial/csd_queued.tlb_remove_table_smp_sync",
       {"counted machine-wide: any other process's sync in the window counts too", 0, 0.25}},
      // burst: the recorded order says when each child ran, not whether the parent ran
      // between two of them on CPU 0 (after an exit, the parent or the next child): a switch
      // from the parent to a child traces a task-switch flush the process's counters see.
      // Two runs with the same recorded order of 16 children measured 0.375 and 0.3125 (the
      // twin 0.375); seen -0.125 to +0.0625.
      {"hugetlb-fork-exit/burst/flushes_by_reason.task_switch",
       {"the recorded order does not say whether the parent ran between two children on CPU 0",
        -0.25, 0.25}},
      // burst: measured minus the model's upper end (its range is equal where within).
      {"hugetlb-fork-exit/burst/csd_queued.tlb_remove_table_smp_sync",
       {"counted machine-wide: any other process's sync in the window counts too", 0, 0.25}},
  };
  return k;
}

bool interrupt_line(const std::string& count) {
  return count == "tlb_interrupts" || count == "call_function_interrupts";
}

class Fidelity : public testing::TestWithParam<case_def> {};

TEST_P(Fidelity, EveryHostPhaseCountEqualsTheModels) {
  const case_def& c = GetParam();
  const std::string file = testing::TempDir() + "/fidelity-" + c.scenario + ".json";
  std::filesystem::remove(file);
  const auto r = sd::test::run_binary(std::string("host --scenario ") + c.scenario + " " + c.args +
                                      " --repeat 1 --predict --json " + file);
  if (r.code == 3) GTEST_SKIP() << "nothing measured on this machine:\n" << r.out;
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  if (!j["available"]["tlb_flush_tracepoint"].get<bool>())
    GTEST_SKIP() << "tlb:tlb_flush is not readable here: " << j["notes"].dump();
  unsigned compared = 0;
  for (const auto& ph : j["phases"]) {
    const std::string phase = ph["name"];
    if (ph.contains("skipped")) {
      std::cout << "  " << phase << ": skipped: " << ph["skipped"].get<std::string>() << "\n";
      continue;
    }
    if (ph.contains("predict_unavailable")) {
      std::cout << "  " << phase
                << ": no prediction: " << ph["predict_unavailable"].get<std::string>() << "\n";
      continue;
    }
    for (const auto& [count, row] : ph["predict"].items()) {
      if (row["equal"].is_null()) continue;  // not measured on this machine
      ++compared;
      const double measured = row["measured"], model = row["model"];
      const std::string where = std::string(c.scenario) + "/" + phase + "/" + count;
      const auto shown = [&] {
        return where + ": measured " + std::to_string(measured) + ", model " +
               std::to_string(model);
      };
      if (row["equal"].get<bool>()) continue;
      if (row.contains("explained")) {
        std::cout << "  " << shown() << " (explained: " << row["explained"].get<std::string>()
                  << ")\n";
        continue;
      }
      if (const auto k = known_differences().find(where); k != known_differences().end()) {
        const known_difference& d = k->second;
        const double diff = measured - model;
        if (diff >= d.lo && diff <= d.hi) {
          std::cout << "  " << shown() << " (known, " << diff << " within [" << d.lo << ", " << d.hi
                    << "]: " << d.why << ")\n";
          continue;
        }
        ADD_FAILURE() << shown() << ": a known difference (" << d.why << ") but " << diff
                      << " per op is outside what its cause gives, [" << d.lo << ", " << d.hi
                      << "]\n"
                      << r.out;
        continue;
      }
      const double op_s = ph["wall_ns_per_op"]["median"].get<double>() * 1e-9;
      if (interrupt_line(count) && std::fabs(measured - model) <= 0.2 + 300 * op_s) {
        std::cout << "  " << shown() << " (machine-wide line, within 0.2 + 300/s per op)\n";
        continue;
      }
      ADD_FAILURE() << shown() << "\n" << r.out;
    }
  }
  if (compared == 0) GTEST_SKIP() << "no phase had a count to compare:\n" << r.out;
}

// Every host scenario (shootdown host --help).
INSTANTIATE_TEST_SUITE_P(HostScenarios, Fidelity,
                         testing::Values(case_def{"munmap-free-tables", "--iterations 200"},
                                         case_def{"tlb-flush-threads", "--iterations 2000"},
                                         case_def{"khugepaged-collapse", "--iterations 40"},
                                         case_def{"fork-cow-reuse", "--iterations 640"},
                                         case_def{"hugetlb-fork-exit",
                                                  "--iterations 16 --reserve-hugepages 16"},
                                         case_def{"uffd-move", "--iterations 40"},
                                         case_def{"mprotect-none-rw", "--iterations 2000"}),
                         [](const testing::TestParamInfo<case_def>& i) {
                           std::string name = i.param.scenario;
                           for (auto& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
