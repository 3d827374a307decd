// Invariant violations (kernel-mechanisms.md s11). The recorder only; the checks that need
// model state are in check/invariants.h. A violation names the invariant, the CPUs, the
// object and the step, and is kept in detection order.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/time.h"

namespace sd::check {

enum class invariant : std::uint8_t {
  pt_use_after_free,             // s11.3: a software walker read a freed/reused table
  walk_cache_freed_table,        // s11.2: a CPU running the mm caches a pointer to a freed table
  lazy_cpu_freed_table,          // s11.7: a lazy CPU's walk cache points at a freed table
  stale_tlb_after_flush,         // s11.5: translation survives a completed flush
  data_page_freed_while_mapped,  // s11.1: a page is freed while an active TLB maps it
  stale_tlb_use,                 // s11.5: a CPU translated through an entry to a freed page
  tlb_gen_regression,            // s11.6
  gup_fast_stale_page,           // s11.14: GUP-fast returned a page no longer mapped there
  unshare_without_fence,         // s11.12c: a PMD table became exclusive under a walker
  walk_cache_unshared_table,     // s11.12, s12.1: a CPU still caches a table the mm unshared
  pt_leak,                       // a table that still maps pages lost its last PUD entry
  deadlock,                      // a thread never finished: blocked forever
  count_
};

std::string_view invariant_name(invariant i);
std::string_view invariant_help(invariant i);

struct violation {
  invariant inv;
  std::vector<std::uint32_t> cpus;
  std::string object;
  std::string step;
  std::string detail;
  sim::sim_time at = 0;
};

class monitor {
 public:
  void report(violation v) {
    ++total_;
    // The freeing CPU can also be the one holding the stale entry: name it once.
    if (v.cpus.size() == 2 && v.cpus[0] == v.cpus[1]) v.cpus.pop_back();
    if (kept_.size() < k_keep) kept_.push_back(std::move(v));
  }
  const std::vector<violation>& violations() const { return kept_; }
  std::uint64_t total() const { return total_; }

 private:
  static constexpr std::size_t k_keep = 64;  // beyond that only the count grows
  std::vector<violation> kept_;
  std::uint64_t total_ = 0;
};

}  // namespace sd::check
