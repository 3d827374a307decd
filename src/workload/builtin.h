// The built-in scenarios: one table, each entry with its parameters and a builder that
// spawns the workload's threads on a fresh kernel.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernel/kernel.h"
#include "workload/params.h"
#include "workload/threads.h"

namespace sd::workload {

struct builtin_scenario {
  std::string_view name;
  std::string_view summary;
  std::string_view provenance;  // seed file or anchor it comes from
  std::span<const param_decl> params;
  // Checks the parameters against the machine; an empty problem when they fit.
  param_problem (*validate)(unsigned cpus, const param_values& p);
  void (*build)(kern::kernel& k, const param_values& p, thread_group& threads);
};

std::span<const builtin_scenario> builtins();
// Parameters every scenario takes (the machine's environment, e.g. vCPU preemption).
std::span<const param_decl> common_params();
// Checks the common parameters together (what their bounds alone cannot say).
param_problem validate_common(const param_values& p);
const builtin_scenario* find_builtin(std::string_view name);

// Scenario builders, one file each.
extern const builtin_scenario munmap_free_tables;
extern const builtin_scenario hugetlb_fork_exit;
extern const builtin_scenario khugepaged_collapse;
extern const builtin_scenario rt_isolated;
extern const builtin_scenario mprotect_none_rw;
extern const builtin_scenario uffd_move;
extern const builtin_scenario fork_cow_reuse;
extern const builtin_scenario tlb_flush_threads;

}  // namespace sd::workload
