#include "arch/arch.h"

namespace sd::arch {

const std::array<arch_info, 2>& arches() {
  static const std::array<arch_info, 2> k{{
      {"x86", "x86-64 native: IPI flushes, lazy TLB, tlb_gen, 33-page ceiling", make_x86},
      {"arm64", "arm64: broadcast TLBI + DSB, no flush IPIs, leaf-only vs walk-cache TLBI",
       make_arm64},
  }};
  return k;
}

const arch_info* find_arch(std::string_view name) {
  for (const auto& a : arches())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace sd::arch
