// Knobs: every safety-relevant step of the modeled kernel can be turned off by name. With a
// knob off the model is no longer the kernel; the monitors (and later `check`) must then
// find the race the step exists to prevent. This is how a reviewer asks "what breaks if we
// drop this?" and how the checker itself is tested.
#pragma once
#include <array>
#include <optional>
#include <string_view>

namespace sd::patches {

enum class knob : unsigned char {
  flush_before_table_free,
  rcu_table_free,
  wake_lazy_on_freed_tables,
  nested_gather_force_flush,
  gup_fast_recheck,
  gup_fast_irqs_off,
  collapse_sync,
  hugetlb_unshare_sync,
  wake_lazy_on_unshared_tables,
  kvm_flush_on_entry,
  arm64_dsb_after_tlbi,
  switch_mm_tlb_gen_catchup,
  cpumask_before_tlb_gen,
  flush_before_page_free,
  tlbsync_after_invlpgb,
  hugetlb_unshare_share_check,
  table_batch_alloc,
  count_
};
inline constexpr std::size_t knob_count = static_cast<std::size_t>(knob::count_);

struct knob_info {
  knob id;
  std::string_view name;
  std::string_view help;
  std::string_view source;
  // Where turning it off has no race to find, and why (shown by `list knobs`).
  std::string_view no_race;
  // A shipped program on which check finds the violation when it is off.
  std::string_view program;
};

const std::array<knob_info, knob_count>& knobs();
std::optional<knob> find_knob(std::string_view name);

class knob_set {
 public:
  knob_set() { on_.fill(true); }
  bool operator[](knob k) const { return on_[static_cast<std::size_t>(k)]; }
  void set(knob k, bool on) { on_[static_cast<std::size_t>(k)] = on; }

 private:
  std::array<bool, knob_count> on_{};
};

}  // namespace sd::patches
