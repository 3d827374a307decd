// The host scenarios' sizes as parameters (`shootdown host --set KEY=VALUE`), declared as the
// simulate scenarios' are (workload/params.h), so that `host --predict`'s twins run the model
// with the same sizes as the phases measured (issue 9 item 10).
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workload/config.h"
#include "workload/params.h"

namespace sd::host {

// The parameters a host scenario takes (empty: none, or an unknown scenario).
std::span<const workload::param_decl> host_params(std::string_view scenario);

// Every parameter of `scenario`: the `--set` values given, the defaults for the rest.
// Throws std::invalid_argument naming the flag and key for an unknown or repeated key, a
// value out of bounds, or values that do not fit together (more pages than the region).
workload::param_values resolve_host_params(std::string_view scenario,
                                           const std::vector<workload::setting>& sets);

// A resolved parameter; the default when `values` lacks it (a result built by hand).
std::int64_t host_param(std::string_view scenario, const workload::param_values& values,
                        std::string_view key);

// munmap-free-tables: the distance between two written pages (whole pages, at least one).
std::int64_t munmap_touch_stride(std::int64_t region, std::int64_t touch_pages);
// uffd-move `crossing`: pages moved before the 2 MiB boundary (`aligned`: 0).
std::int64_t uffd_pages_before_boundary(std::int64_t pages, bool crossing);
// uffd-move: where the moved pages sit in the source and the destination area, in bytes
// from the area's 2 MiB-aligned start (the host maps 2 MiB more for the alignment): the
// pages start at head - before, and the area's used part ends at `used`.
struct uffd_layout {
  std::int64_t len;     // bytes moved
  std::int64_t before;  // of them before the 2 MiB boundary
  std::int64_t head;    // `before` rounded up to 2 MiB: where the boundary is
  std::int64_t used;    // head + len rounded up to 2 MiB
};
uffd_layout uffd_area_layout(std::int64_t pages, bool crossing);
// hugetlb-fork-exit: bytes between two written huge pages of a window (`touch` per window).
std::int64_t hugetlb_touch_stride(std::int64_t touch);

}  // namespace sd::host
