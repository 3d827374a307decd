// One CPU: mode, what its MMU has loaded, its TLB, and the per-CPU kernel state the flush
// paths read remotely (x86 cpu_tlbstate, the call-single queue, RCU reader state).
// IRQ masking lives in the engine (it decides when an IRQ can be taken).
#pragma once
#include <array>
#include <cstdint>
#include <deque>

#include "hw/tlb.h"
#include "mm/mm_types.h"

namespace sd::kern {
struct call_single_data;
}

namespace sd::hw {

enum class cpu_mode : std::uint8_t { idle, kernel, user };

// arch/x86/include/asm/tlbflush.h: TLB_NR_DYN_ASIDS per-CPU dynamic ASID slots.
inline constexpr unsigned TLB_NR_DYN_ASIDS = 6;
struct tlb_context {
  std::uint32_t ctx_id = 0;  // which mm owns the slot (0: none)
  std::uint64_t tlb_gen = 0;
};

struct cpu {
  cpu(std::uint32_t id_, mm::memory& mem) : id(id_), tlb(id_, mem) {}

  std::uint32_t id;
  cpu_mode mode = cpu_mode::idle;
  hw::tlb tlb;
  mm::mm_struct* current_mm = nullptr;  // the running task's mm; null for idle/kthreads
  mm::mm_struct* loaded_mm = nullptr;   // what CR3 / TTBR0 points at
  std::uint32_t loaded_asid = 0;        // TLB tag the hardware uses now
  bool is_lazy = false;                 // a kthread/idle borrows loaded_mm
  bool switching = false;               // x86 LOADED_MM_SWITCHING window

  // x86 cpu_tlbstate.ctxs / next_asid
  std::array<tlb_context, TLB_NR_DYN_ASIDS> ctxs{};
  std::uint32_t next_asid = 1;

  // RCU: IRQs-off regions and rcu_read_lock sections are readers (kernel-mechanisms s9).
  int rcu_reader_depth = 0;
  bool gp_waits_on_me = false;

  // kernel/smp.c call_single_queue
  std::deque<kern::call_single_data*> call_single_queue;
};

}  // namespace sd::hw
