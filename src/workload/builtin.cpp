#include "workload/builtin.h"

#include <array>

namespace sd::workload {

std::span<const builtin_scenario> builtins() {
  static const std::array<builtin_scenario, 8> k{
      {munmap_free_tables, hugetlb_fork_exit, khugepaged_collapse, rt_isolated, mprotect_none_rw,
       uffd_move, fork_cow_reuse, tlb_flush_threads}};
  return k;
}

const builtin_scenario* find_builtin(std::string_view name) {
  for (const auto& s : builtins())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace sd::workload
