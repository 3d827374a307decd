#include "workload/builtin.h"

#include <array>

namespace sd::workload {

std::span<const builtin_scenario> builtins() {
  static const std::array<builtin_scenario, 8> k{
      {munmap_free_tables, hugetlb_fork_exit, khugepaged_collapse, rt_isolated, mprotect_none_rw,
       uffd_move, fork_cow_reuse, tlb_flush_threads}};
  return k;
}

std::span<const param_decl> common_params() {
  static constexpr param_decl k[] = {
      {"vcpu_preempt_interval", param_kind::time,
       "x86-kvm only: mean time between host preemptions of each vCPU (0: never; else at least "
       "10us, a host scheduler's shortest slice)",
       [](unsigned) -> std::int64_t { return 1'000'000; }, 0, 1'000'000'000},
      {"vcpu_preempt_time", param_kind::time,
       "x86-kvm only: how long a preempted vCPU stays off its physical CPU",
       [](unsigned) -> std::int64_t { return 50'000; }, 0, 100'000'000},
      {"idle_poll", param_kind::flag,
       "idle CPUs poll (idle=poll, or a polling idle state): a call-function IPI to a single "
       "idle target only sets its need-resched flag (kernel/sched/core.c set_nr_if_polling): "
       "no interrupt",
       [](unsigned) -> std::int64_t { return 0; }, 0, 1},
      {"idle_tlb_flushed", param_kind::flag,
       "x86: idle CPUs enter a C-state with CPUIDLE_FLAG_TLB_FLUSHED, so intel_idle calls "
       "leave_mm() and they stop being lazy (off: halt / shallow states, the mm stays loaded)",
       [](unsigned) -> std::int64_t { return 0; }, 0, 1},
  };
  return k;
}

param_problem validate_common(const param_values& p) {
  // Below a host scheduler's slice the vCPU would run a step or two between preemptions
  // (at 1ns, none: it never ran again and the windows filled memory).
  const auto interval = p.find("vcpu_preempt_interval")->second;
  if (interval != 0 && interval < 10'000)
    return {"vcpu_preempt_interval must be 0 (never) or at least 10us", {"vcpu_preempt_interval"}};
  return {};
}

const builtin_scenario* find_builtin(std::string_view name) {
  for (const auto& s : builtins())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace sd::workload
