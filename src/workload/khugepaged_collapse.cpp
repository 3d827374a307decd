// khugepaged-collapse (seeds 002, 000): khugepaged collapses 2 MiB ranges of a process whose
// threads keep running on other CPUs. Per collapse: pmdp_collapse_flush (on x86 an IPI to
// every CPU in the mm's cpumask) and then tlb_remove_table_sync_one (an IPI to every other
// online CPU), unless a seed feature proves the second one redundant.
//
//   CPUs [0, threads)   the process's threads (populate, then read random pages)
//   next CPU            GUP-fast over the ranges (gup_fast=on)
//   last CPU            the khugepaged kthread
#include "workload/builtin.h"
#include "workload/collapse_workload.h"

namespace sd::workload {

namespace {

constexpr param_decl k_params[] = {
    {"threads", param_kind::count, "threads of the process, one per CPU from CPU 0",
     [](unsigned cpus) -> std::int64_t { return cpus > 2 ? cpus / 2 : 1; }, 1, 4095},
    {"gup_fast", param_kind::flag,
     "one more CPU runs GUP-fast over the ranges (a pinned page makes a collapse fail)",
     [](unsigned) -> std::int64_t { return 0; }, 0, 1},
    {"ranges", param_kind::count, "2 MiB ranges of 512 small pages to collapse",
     [](unsigned) -> std::int64_t { return 4; }, 1, 4096},
    {"scan_sleep", param_kind::time, "khugepaged sleep before each collapse",
     [](unsigned) -> std::int64_t { return 100'000; }, 0, 60'000'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"threads", "gup_fast"}, 1, "khugepaged");
}

void build(kern::kernel& k, const param_values& p, thread_group& threads) {
  collapse_setup s;
  s.threads = static_cast<unsigned>(p.at("threads"));
  s.gup_fast = p.at("gup_fast") != 0;
  s.khugepaged_cpu = k.ncpus() - 1;
  s.ranges = p.at("ranges");
  s.scan_sleep = p.at("scan_sleep");
  spawn_collapse_workload(k, threads, s);
}

}  // namespace

const builtin_scenario khugepaged_collapse{
    "khugepaged-collapse",
    "khugepaged collapses 2 MiB ranges while the process runs: flush IPI, then the sync IPI",
    "seeds 002 (pmdp_collapse_flush_sync), 000 (tlb_table_flush_implies_ipi_broadcast)",
    k_params,
    validate,
    build};

}  // namespace sd::workload
