// Whether this kernel's per-process perf counting (inherit) sees what a child does while it
// exits. On 6.18.44 it does not: a child's exit_mmap flushes (and the hugetlb unshare sync
// it sends) are traced system-wide in the child's name, but a counter inherited from the
// parent counts none of them. host's phases that end children inside the measured window
// (hugetlb-fork-exit) then cannot count flushes or queued calls per process.
#pragma once
#include <optional>
#include <string>

namespace sd::host {

struct exit_probe_result {
  std::uint64_t system_wide = 0;  // the child's exit flushes, counted on every CPU by its pid
  std::uint64_t per_process = 0;  // the same, counted by a counter the child inherited
};

// Forks one child that maps, touches and exits without unmapping, and counts its
// tlb:tlb_flush events both ways. None (with `why`) when it cannot tell: no tracepoint or
// privilege, or the exit flushed nothing here.
std::optional<exit_probe_result> probe_child_exit_counting(std::string& why);

}  // namespace sd::host
