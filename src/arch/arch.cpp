#include "arch/arch.h"

namespace sd::arch {

const std::array<arch_info, 4>& arches() {
  static const std::array<arch_info, 4> k{{
      {"x86", "x86-64 native: IPI flushes, lazy TLB, tlb_gen, 33-page ceiling", make_x86,
       cost::preset::x86_server},
      {"x86-kvm",
       "x86-64 KVM guest: kvm_flush_tlb_multi skips preempted vCPUs (they flush at VM entry); "
       "vCPU preemption set by vcpu_preempt_interval/vcpu_preempt_time",
       make_x86_kvm, cost::preset::x86_kvm_guest},
      {"x86-invlpgb",
       "x86-64 with AMD INVLPGB: mms active on > 3 CPUs get a global ASID and are flushed by "
       "broadcast INVLPGB + TLBSYNC, without IPIs",
       make_x86_invlpgb, cost::preset::x86_server},
      {"arm64", "arm64: broadcast TLBI + DSB, no flush IPIs, leaf-only vs walk-cache TLBI",
       make_arm64, cost::preset::arm64_server},
  }};
  return k;
}

const arch_info* find_arch(std::string_view name) {
  for (const auto& a : arches())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace sd::arch
