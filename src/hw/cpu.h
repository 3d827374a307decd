// One CPU: mode, what its MMU has loaded, its TLB, and the per-CPU kernel state the flush
// paths read remotely (x86 cpu_tlbstate, RCU reader state; the call-single queues are in
// kernel/call_queue.h).
// IRQ masking lives in the engine (it decides when an IRQ can be taken).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "hw/tlb.h"
#include "mm/mm_types.h"

namespace sd::hw {

enum class cpu_mode : std::uint8_t { idle, kernel, user };

// include/linux/context_tracking_state.h (v6.x): what context tracking reports for a CPU.
// User tracking is active only on nohz_full CPUs; elsewhere a CPU in user space still reads
// KERNEL. Idle is tracked everywhere. An IRQ taken from user mode on a tracked CPU runs the
// user-exit transition, so the model derives the state from the CPU's mode.
enum class ct_state : std::uint8_t { kernel, idle, user };

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
  mm::mm_struct* loaded_mm = nullptr;   // what CR3 / TTBR0 points at (set by load_mm)
  std::uint32_t loaded_asid = 0;        // TLB tag the hardware uses now
  bool is_lazy = false;                 // a kthread/idle borrows loaded_mm
  bool switching = false;               // x86 LOADED_MM_SWITCHING window
  bool nohz_full = false;               // isolated: context tracking follows user mode
  bool in_nmi = false;                  // an NMI handler runs (no nesting, no IRQs)
  bool polled_wakeup = false;           // the pending call was signalled without an IPI
  // A task of the workload runs here and its perf context is live: what `shootdown host`'s
  // per-process counters (perf inherit) see. False for idle, kthreads, and from the start of
  // a task's exit (kernel/exit.c do_exit calls perf_event_exit_task before exit_mm).
  bool perf_task = false;
  // Broadcast invalidations issued by another CPU that did not wait for their completion
  // (knobs arm64_dsb_after_tlbi / tlbsync_after_invlpgb off), oldest first. Timed runs never
  // complete them (a pessimistic bound); check lands each at a time it chooses. A vector:
  // a deque allocates on construction, 4096 times in a 4096-CPU machine's setup.
  std::vector<hw::invalidation> pending_invalidations;

  // Points CR3 / TTBR0 at `next`; the mms' loaded_on sets follow.
  void load_mm(mm::mm_struct& next) {
    if (loaded_mm) loaded_mm->loaded_on.clear(id);
    loaded_mm = &next;
    next.loaded_on.set(id);
  }

  hw::ct_state context_tracking() const {
    if (mode == cpu_mode::idle) return hw::ct_state::idle;
    if (mode == cpu_mode::user && nohz_full) return hw::ct_state::user;
    return hw::ct_state::kernel;
  }

  // x86 cpu_tlbstate.ctxs / next_asid
  std::array<tlb_context, TLB_NR_DYN_ASIDS> ctxs{};
  std::uint32_t next_asid = 1;

  // RCU: IRQs-off regions and rcu_read_lock sections are readers (kernel-mechanisms s9).
  int rcu_reader_depth = 0;
  bool gp_waits_on_me = false;
};

}  // namespace sd::hw
