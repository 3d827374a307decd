// vCPU preemption by the host (x86-kvm): each vCPU is descheduled for `duration` at random
// intervals averaging `interval`. While preempted it makes no progress and takes no
// interrupts; its steal-time record says PREEMPTED, which kvm_flush_tlb_multi reads
// (arch/x86/kernel/kvm.c). Windows are drawn per CPU from the run's seed: window i's gap
// is the i-th value of the CPU's stream, read at that position (sim::rng::below_at), so
// nothing is stored but a cursor per CPU (a long run on 4096 vCPUs kept hundreds of MB of
// past windows before).
#pragma once
#include <cstdint>
#include <vector>

#include "sim/rng.h"
#include "sim/time.h"

namespace sd::kern {

class vcpu_preemption {
 public:
  vcpu_preemption() = default;
  vcpu_preemption(unsigned cpus, std::uint64_t seed, sim::sim_time interval,
                  sim::sim_time duration);
  // check: the explorer preempts and resumes vCPUs itself (no random windows).
  static vcpu_preemption explicit_choices(unsigned cpus);
  bool enabled() const { return (interval_ > 0 && duration_ > 0) || !held_.empty(); }
  // End of the preemption window containing t on cpu, or 0 if it runs at t.
  sim::sim_time preempted_until(unsigned cpu, sim::sim_time t) { return stall_at(cpu, t).until; }
  // The same, with the span around t free of windows (the engine's stall function; empty in
  // explicit mode, where the explorer may preempt at any time).
  sim::stall_answer stall_at(unsigned cpu, sim::sim_time t);
  bool is_explicit() const { return !held_.empty(); }
  void set_preempted(unsigned cpu, bool on) { held_[cpu] = on; }
  // What the explorer sees (no logging: its own reads are not the model's).
  bool preempted(unsigned cpu) const { return cpu < held_.size() && held_[cpu]; }
  // check's reduction: which vCPUs' steal-time state the model read since the log was
  // cleared (bit per CPU; CPUs past 63 set every bit). A step that read none commutes
  // with the hypervisor preempting that vCPU (check/execution.cpp).
  void clear_read_log() { reads_ = 0; }
  std::uint64_t read_log() const { return reads_; }

 private:
  // The window a CPU's last query fell in (or before): its index and start, and the start
  // of the window after it (every step of the CPU asks, almost always between the two:
  // kept so that such a query draws no random gap).
  struct cursor {
    std::uint64_t index = 0;
    sim::sim_time start = 0;
    sim::sim_time next = 0;
  };
  // Gap before window i: uniform in [interval/2, 3*interval/2), mean `interval`.
  sim::sim_time gap(unsigned cpu, std::uint64_t i) const;
  std::vector<cursor> cursor_;
  std::vector<sim::rng> rng_;
  sim::sim_time interval_ = 0;
  sim::sim_time duration_ = 0;
  std::vector<bool> held_;  // explicit mode: which vCPUs the explorer has descheduled
  std::uint64_t reads_ = 0;
};

}  // namespace sd::kern
