// The cost model: how long each modeled step takes, per architecture preset. It decides
// time, never correctness. Every parameter has one declaration (name, unit, help, source,
// per-preset default) that drives validation, `shootdown list costs` and the docs.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/time.h"

namespace sd::cost {

enum class param : std::uint8_t {
  pt_read,
  pt_write,
  atomic,
  remote_read,
  page_alloc,
  page_free,
  exception_entry,
  syscall_entry,
  irq_entry,
  ipi_send,
  ipi_per_target,
  ipi_delivery,
  ipi_post_lead,
  invlpg,
  invlpgb_op,
  tlbsync,
  flush_full,
  switch_mm,
  hw_walk_level,
  tlb_hit,
  tlbi_op,
  dsb_ish_base,
  dsb_ish_per_cpu,
  dsb_ish_per_broadcaster,
  rcu_gp,
  dsb_nsh,
  page_copy,
  page_move,
  mprotect_vma,
  vma_dup,
  pmd_share_lookup,
  count_
};
inline constexpr std::size_t param_count = static_cast<std::size_t>(param::count_);

// x86_kvm_guest: the x86 server figures with IPIs x4.8 (anchors.md s4: guest unicast IPI
// ~4.8x the host's, KVM/arm64 ThunderX2, the only published virtualization multiplier).
enum class preset : std::uint8_t { x86_server, arm64_server, x86_kvm_guest };

struct param_info {
  param id;
  std::string_view name;
  std::string_view help;
  std::string_view source;
  sim::sim_time x86_server;
  sim::sim_time arm64_server;
};

const std::array<param_info, param_count>& params();
// The largest value --cost accepts: what a real machine can take for the step. One step
// is at most 100 us (a slow VM exit, a contended cache line, a 4 KiB copy are far below);
// an RCU grace period at most 1 s (a loaded machine's normal grace period).
sim::sim_time max_value(param p);
std::optional<param> find_param(std::string_view name);
std::string_view preset_name(preset p);

class cost_model {
 public:
  explicit cost_model(preset p);
  sim::sim_time operator[](param p) const { return v_[static_cast<std::size_t>(p)]; }
  void set(param p, sim::sim_time ns) { v_[static_cast<std::size_t>(p)] = ns; }
  preset base() const { return preset_; }

 private:
  preset preset_;
  std::array<sim::sim_time, param_count> v_{};
};

}  // namespace sd::cost
