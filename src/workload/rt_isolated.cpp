// rt-isolated (seeds 004, 000): isolated nohz_full CPUs run a real-time process's user code
// while, on the housekeeping CPUs, khugepaged collapses another process's memory. Every
// collapse's tlb_remove_table_sync_one IPIs all online CPUs, isolated ones included, unless
// it is narrowed to the mm's cpumask (sync-ipi-mm-cpumask), to CPUs in kernel mode
// (sync-ipi-kernel-mode-only) or skipped (skip-redundant-sync-ipi). Reported:
// ipis_to_isolated and isolated_irq_ns (time the isolated CPUs spent in those IPIs).
//
//   CPUs [0, threads)             the other process's threads
//   CPU threads                   khugepaged
//   the last `isolated` CPUs      nohz_full, running the RT process in user mode
#include "workload/builtin.h"
#include "workload/collapse_workload.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

constexpr param_decl k_params[] = {
    {"isolated", param_kind::count, "nohz_full CPUs (the last ones) running the RT process",
     [](unsigned cpus) -> std::int64_t { return cpus > 2 ? cpus / 2 : 1; }, 1, 4094},
    {"threads", param_kind::count, "threads of the process khugepaged works on",
     [](unsigned cpus) -> std::int64_t { return cpus > 4 ? cpus / 2 - 1 : 1; }, 1, 4094},
    {"ranges", param_kind::count, "2 MiB ranges khugepaged collapses",
     [](unsigned) -> std::int64_t { return 8; }, 1, 4096},
    {"scan_sleep", param_kind::time, "khugepaged sleep before each collapse",
     [](unsigned) -> std::int64_t { return 100'000; }, 0, 60'000'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"isolated", "threads"}, 1, "khugepaged");
}

void build(kern::kernel& k, const param_values& p, thread_group& threads) {
  collapse_setup s;
  s.threads = static_cast<unsigned>(p.at("threads"));
  s.khugepaged_cpu = s.threads;
  s.ranges = p.at("ranges");
  s.scan_sleep = p.at("scan_sleep");
  spawn_collapse_workload(k, threads, s);

  auto rt = std::make_shared<process>();
  rt->mm = &k.new_mm("rt");
  const auto isolated = static_cast<unsigned>(p.at("isolated"));
  for (unsigned c = k.ncpus() - isolated; c < k.ncpus(); ++c) k.cpus[c].nohz_full = true;
  spawn_spinners(threads, rt, s.done, nullptr, k.ncpus() - isolated, isolated);
}

}  // namespace

const builtin_scenario rt_isolated{
    "rt-isolated",
    "nohz_full CPUs run user code; another process's collapses send them sync IPIs",
    "seeds 004 (IPI only CPUs in kernel mode / in mm_cpumask), 000",
    k_params,
    validate,
    build};

}  // namespace sd::workload
