// The seed patches (and the upstream fixes they depend on) as named features, and the
// presets that say which of them a real kernel contains. The model reads a feature where
// the kernel has its `if`; a patch set is just which features are on.
#pragma once
#include <array>
#include <bitset>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sd::patches {

enum class feature : unsigned char {
  hugetlb_unshare_sync_per_table,
  hugetlb_unshare_gather,
  hugetlb_pmd_shared_fix,
  x86_wake_lazy_on_unshare,
  skip_redundant_sync_ipi,
  collapse_flush_sync,
  sync_ipi_mm_cpumask,
  sync_ipi_kernel_mode_only,
  uffd_move_batch,
  arm64_pte_needs_flush,
  arm64_wp_reuse_local_flush,
  arm64_unshare_walk_flush,
  pt_reclaim_x86,
  pt_reclaim_generic,
  table_free_sync_rcu,
  // Variants for check: code as posted where it differs from its stated intent, and a
  // skip forced where the kernel keeps it off. In no preset.
  skip_redundant_sync_ipi_forced,
  skip_redundant_sync_ipi_kvm,
  collapse_flush_sync_as_posted,
  sync_ipi_kernel_mode_only_as_posted,
  count_
};
inline constexpr std::size_t feature_count = static_cast<std::size_t>(feature::count_);

struct feature_info {
  feature id;
  std::string_view name;        // fixed: scripts use it
  std::string_view provenance;  // commit or message id
  std::string_view seed;        // seed file(s)
  std::string_view summary;
  std::string_view modeled;  // where the model reads it, or why it changes no flush/IPI
};

const std::array<feature_info, feature_count>& features();
const feature_info& info(feature f);
std::optional<feature> find_feature(std::string_view name);

class patch_set {
 public:
  bool operator[](feature f) const { return on_[static_cast<std::size_t>(f)]; }
  void set(feature f, bool on = true) { on_[static_cast<std::size_t>(f)] = on; }
  bool operator==(const patch_set&) const = default;
  // Feature names in registry order.
  std::vector<std::string_view> names() const;

 private:
  std::bitset<feature_count> on_;
};

struct preset_info {
  std::string_view name;
  std::string_view why;  // what it contains and on what evidence
  std::span<const feature> features;
};

std::span<const preset_info> presets();
const preset_info* find_preset(std::string_view name);

// "v7.0", "uffd-move-batch+arm64-pte-needs-flush", "v6.17+hugetlb-unshare-gather", "none",
// "v6.17-backport~hugetlb-unshare-gather" ('~' removes a feature or a preset's features;
// parts apply left to right).
// Throws std::invalid_argument naming the unknown part.
patch_set parse_patch_set(std::string_view spec);

// The preset used when a run names none: the newest kernel the model knows, with every fix
// (v7.0 as released lacks arm64's c2ff4764e03e; on every other arch the two are the same).
inline constexpr std::string_view k_default_preset = "v7.0.12";

}  // namespace sd::patches
