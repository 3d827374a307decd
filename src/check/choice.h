// One decision of the explorer, and schedules: the list of decisions of one execution as a
// string that --replay reads back ("0*12,1,i1,w0.0,p1,r1": CPU 0 makes 12 steps, CPU 1
// one, CPU 1 takes its IPI, CPU 0's MMU walks address 0 speculatively, vCPU 1 is preempted
// by the host, then resumed; "l2": a broadcast invalidation pending on CPU 2 completes;
// "e1.0": CPU 1's TLB evicts what it caches for address 0; "n0.1": a perf NMI on CPU 0
// walks address 1).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sd::check {

enum class choice_kind : std::uint8_t {
  step,     // actor makes its next step
  irq,      // actor takes its pending IPI (an IRQs-enabled step boundary)
  walk,     // the CPU's MMU walks the page tables speculatively (address index arg)
  preempt,  // the hypervisor deschedules the vCPU (x86-kvm): no steps, no IRQs
  resume,   // and runs it again
  land,     // a broadcast invalidation pending on the CPU completes there (no DSB/TLBSYNC)
  evict,    // the CPU's TLB drops every entry covering an address (address index arg)
  nmi,      // a perf sampling NMI walks an address's page tables (address index arg)
};

struct choice {
  choice_kind kind = choice_kind::step;
  std::uint16_t actor = 0;
  std::uint16_t arg = 0;
  bool operator==(const choice&) const = default;
};

// The hardware events whose whole footprint is the page tables (read) and one CPU's TLB
// (written): a speculative walk, an eviction, a pending invalidation landing.
inline bool tlb_only(const choice& c) {
  return c.kind == choice_kind::walk || c.kind == choice_kind::evict || c.kind == choice_kind::land;
}

// The hardware events whose footprint the reduction knows exactly: the TLB-only ones, and
// the hypervisor preempting a vCPU (it writes that vCPU's steal-time state, which only
// kvm_flush_tlb_multi reads, and stops its actor). Two of them on different CPUs commute;
// one commutes with a step where the step's measured footprint says so
// (check/execution.h).
inline bool footprint_event(const choice& c) {
  return tlb_only(c) || c.kind == choice_kind::preempt;
}

std::string to_string(const choice& c);
std::string encode_schedule(const std::vector<choice>& s);
// Throws std::invalid_argument naming the bad token.
std::vector<choice> decode_schedule(std::string_view text);

}  // namespace sd::check
