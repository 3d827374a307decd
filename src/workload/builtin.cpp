#include "workload/builtin.h"

#include <array>

namespace sd::workload {

std::span<const builtin_scenario> builtins() {
  static const std::array<builtin_scenario, 1> k{{munmap_free_tables}};
  return k;
}

const builtin_scenario* find_builtin(std::string_view name) {
  for (const auto& s : builtins())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace sd::workload
