// The modeled machine and kernel: CPUs, memory, address spaces, the arch backend, costs,
// knobs, RCU, metrics and monitors. Kernel paths are coroutines taking `kernel&` and the
// CPU they run on, like the kernel's smp_processor_id().
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arch/arch.h"
#include "check/monitor.h"
#include "cost/cost_model.h"
#include "hw/cpu.h"
#include "kernel/call_queue.h"
#include "kernel/lockless_walks.h"
#include "kernel/metrics.h"
#include "kernel/trace.h"
#include "kernel/vcpu.h"
#include "mm/memory.h"
#include "mm/mm_types.h"
#include "mm/rcu.h"
#include "patches/knobs.h"
#include "patches/patches.h"
#include "sim/engine.h"

namespace sd::kern {

struct machine_config {
  std::string arch = "x86";
  unsigned cpus = 4;
  std::uint64_t seed = 1;
  cost::cost_model costs{cost::preset::x86_server};
  patches::knob_set knobs;
  patches::patch_set patches = patches::parse_patch_set(patches::k_default_preset);
  // x86-kvm: host preemption of vCPUs (0 = never). Ignored on other arches.
  sim::sim_time vcpu_preempt_interval = 0;
  sim::sim_time vcpu_preempt_time = 0;
  // Idle behaviour (common params idle_poll, idle_tlb_flushed); off: halt.
  bool idle_poll = false;
  bool idle_tlb_flushed = false;
};

inline constexpr unsigned MAX_CPUS = 4096;

// check: a CPU blocked in user_access() because its next attempt at the access could only
// repeat a spurious fault (kernel/user_access.cpp).
struct futile_retry {
  bool waiting = false;
  mm::va_t va = 0;
  bool write = false;
  sim::wait_queue q;
};

struct kernel {
  kernel(const machine_config& cfg, sim::scheduler& sched);
  kernel(const kernel&) = delete;
  kernel& operator=(const kernel&) = delete;

  machine_config cfg;
  sim::engine eng;
  mm::memory mem;
  std::vector<hw::cpu> cpus;
  std::vector<csd_fifo> call_single_queue;   // per CPU (kernel/call_queue.h)
  csd_table csds;                            // the calls those queues refer to
  std::vector<pv_send_ipi_cpu> pv_send_ipi;  // per CPU on x86-kvm, else empty (kernel/call_queue.h)
  std::unique_ptr<arch::arch_ops> arch;
  const cost::cost_model& cost;
  const patches::knob_set& knobs;
  const patches::patch_set& patches;
  metrics stats;
  check::monitor mon;
  mm::rcu_state rcu;
  vcpu_preemption vcpu;
  trace_recorder* trace = nullptr;  // set by `simulate --trace`
  // check: the kernel functions (trace_scope names) each CPU is inside, innermost last.
  // Empty unless track_scopes was set before the run.
  bool track_scopes = false;
  std::vector<std::vector<const char*>> scopes;
  std::vector<std::unique_ptr<mm::mm_struct>> mms;        // [0] is init_mm
  std::vector<std::unique_ptr<mm::address_space>> files;  // hugetlbfs files
  lockless_walks walks;  // GUP-fast and perf NMI walks in progress (monitor bookkeeping)
  // Simulator speed only, not kernel state: per CPU, the VMA its last page fault found
  // (kernel/fault.cpp find_fault_vma).
  std::vector<std::shared_ptr<mm::vm_area_struct>> last_fault_vma;
  // check: per CPU, sized when the first CPU blocks there (kernel/user_access.cpp).
  std::vector<futile_retry> futile_retries;
  // Whether the last TLB flush really sent IPIs (x86 native only; seed 002's sent_ipi).
  bool flush_sent_ipi = false;

  unsigned ncpus() const { return static_cast<unsigned>(cpus.size()); }
  // "CPU n" for a CPU; the actor after the CPUs is the RCU grace-period kthread, which runs
  // the RCU callbacks (tlb_remove_table_rcu frees tables there).
  std::string actor_name(sim::actor_id a) const;
  // The CPUs among some actors (the kthread is not one), for a violation's CPU list.
  std::vector<std::uint32_t> cpus_among(std::initializer_list<sim::actor_id> actors) const;
  mm::mm_struct& init_mm() { return *mms[0]; }
  mm::mm_struct& mm_by_id(std::uint32_t id) { return *mms[id]; }
  mm::mm_struct& new_mm(std::string name);
  mm::address_space& new_file();

  bool knob(patches::knob k) const { return knobs[k]; }
  // A seed feature: read where the kernel has its `if` (patches/patches.h).
  bool patch(patches::feature f) const { return patches[f]; }
  sim::sim_time c(cost::param p) const { return cost[p]; }
  // check explores the interleavings (no simulated time). A kernel loop whose iterations
  // touch only entries no other CPU can write then reads a run of them in one step: every
  // interleaving between those reads is equivalent to one before or after the run (they
  // commute with every other step), so exploring them would only repeat schedules. simulate
  // keeps one step per iteration (an IPI is taken between any two, as in the kernel).
  bool explores() const { return !eng.timed(); }
  // One step costing `n` times parameter p.
  sim::engine::step_awaiter step(cost::param p, std::int64_t n = 1) {
    return eng.step(cost[p] * n, cost::params()[static_cast<std::size_t>(p)].name.data());
  }
  sim::engine::step_awaiter step_ns(sim::sim_time ns, const char* label = nullptr) {
    return eng.step(ns, label);
  }

  // local_irq_disable/enable: IRQs-off regions are also RCU readers.
  void local_irq_disable(unsigned cpu);
  void local_irq_enable(unsigned cpu);
  bool irqs_disabled(unsigned cpu) const { return !eng.irqs_enabled(cpu); }
  // One TLB flush call (flush_tlb_mm_range / a TLBI sequence) initiated by cpu.
  void note_flush_request(unsigned cpu) {
    ++stats.flush_requests;
    ++stats.flush_requests_per_cpu[cpu];
  }
  // The tlb:tlb_flush tracepoint (x86 reasons) or the arm64 flush kind. `reason` is a string
  // literal: its address finds the counter without comparing strings (the map lookup by name
  // on every flush handler was 1.5% of munmap-free-tables' instructions at 256 CPUs).
  void count_flush(const char* reason, std::uint64_t n = 1) {
    const flush_counter* counter = nullptr;
    for (const auto& c : flush_counters_)
      if (c.reason == reason) {
        counter = &c;
        break;
      }
    if (!counter) {
      // Map nodes stay where they are: the counters' addresses can be kept.
      auto entry = [&](flush_counts& m) {
        return &m.try_emplace(std::string(reason), 0).first->second;
      };
      counter = &flush_counters_.emplace_back(flush_counter{
          reason, entry(stats.flushes_by_reason), entry(stats.flushes_by_reason_in_task)});
    }
    *counter->all += n;
    // Actor i < cpus.size() is CPU i; the tracepoint fires in the context of its current task.
    if (const sim::actor_id a = eng.current(); a < cpus.size() && cpus[a].perf_task)
      *counter->in_task += n;
    if (trace) trace->instant(eng.current(), "tlb_flush", eng.now(), {{"reason", reason}});
  }

 private:
  struct flush_counter {
    const char* reason;
    std::uint64_t* all;      // stats.flushes_by_reason
    std::uint64_t* in_task;  // stats.flushes_by_reason_in_task
  };
  std::vector<flush_counter> flush_counters_;

 public:
};

}  // namespace sd::kern
