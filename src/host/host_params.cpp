#include "host/host_params.h"

#include <algorithm>
#include <stdexcept>

namespace sd::host {

namespace {

using workload::param_decl;
using workload::param_kind;

constexpr std::int64_t k_page = 4096;
constexpr std::int64_t k_huge = std::int64_t{2} << 20;
constexpr std::int64_t k_gib = std::int64_t{1} << 30;

template <std::int64_t V>
std::int64_t fixed(unsigned) {
  return V;
}

// munmap_round maps the region in a free 1 GiB-aligned hole (phases.cpp free_gib_hole).
constexpr param_decl k_munmap[] = {
    {"region", param_kind::size,
     "bytes mapped at a 1 GiB-aligned address and unmapped per op (whole pages, at most 1 GiB)",
     fixed<std::int64_t{4} << 20>, 2 * k_page, k_gib},
    {"touch_pages", param_kind::count,
     "pages written per op, one every region/touch_pages bytes (rounded down to whole pages)",
     fixed<64>, 1, k_gib / k_page},
};
// mprotect_round's VMA sits in the middle of the hole: at most half of it.
constexpr param_decl k_mprotect[] = {
    {"pages", param_kind::count, "touched pages of the VMA toggled PROT_NONE and back per op",
     fixed<16>, 1, k_gib / 2 / k_page},
};
constexpr param_decl k_cow[] = {
    {"pages", param_kind::count, "write-protected pages the parent writes after each fork",
     fixed<64>, 1, k_gib / k_page},
};
constexpr param_decl k_uffd[] = {
    {"pages", param_kind::count,
     "present pages moved per op; `crossing` starts pages/2 of them before a 2 MiB boundary",
     fixed<512>, 2, k_gib / k_page},
};
// The hugetlb file covers `windows` 1 GiB windows (PUD ranges) of 512 huge pages each: one
// PMD table per window that a child shares and unshares.
constexpr param_decl k_hugetlb[] = {
    {"touch", param_kind::count,
     "huge pages the parent and each child write per window, evenly spread over it (needs "
     "touch x windows free huge pages)",
     fixed<8>, 1, k_gib / k_huge},
    {"windows", param_kind::count,
     "1 GiB windows the hugetlb file is mapped over: PMD tables each child shares and unshares",
     fixed<1>, 1, 64},
    {"children", param_kind::count, "`concurrent`: children alive at once", fixed<8>, 2, 64},
};

}  // namespace

std::span<const param_decl> host_params(std::string_view scenario) {
  if (scenario == "munmap-free-tables") return k_munmap;
  if (scenario == "mprotect-none-rw") return k_mprotect;
  if (scenario == "fork-cow-reuse") return k_cow;
  if (scenario == "uffd-move") return k_uffd;
  if (scenario == "hugetlb-fork-exit") return k_hugetlb;
  return {};
}

workload::param_values resolve_host_params(std::string_view scenario,
                                           const std::vector<workload::setting>& sets) {
  const auto decls = host_params(scenario);
  const std::string keys = workload::param_names(decls);
  workload::param_values v;
  for (const auto& s : sets) {
    const param_decl* d = workload::find_param(decls, s.key);
    if (!d)
      throw std::invalid_argument(
          s.origin + ": host scenario " + std::string(scenario) +
          (keys.empty() ? " takes no parameters"
                        : " has no parameter '" + s.key + "' (it has: " + keys + ")"));
    if (v.count(s.key)) throw std::invalid_argument(s.origin + ": given twice");
    try {
      v[s.key] = workload::parse_param(*d, s.text);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(s.origin + ": " + e.what());
    }
  }
  for (const auto& d : decls)
    if (!v.count(d.name)) v[std::string(d.name)] = d.default_for(0);
  if (scenario == "munmap-free-tables") {
    if (v["region"] % k_page)
      throw std::invalid_argument("--set region: must be whole 4 KiB pages, got " +
                                  workload::format_param(decls[0], v["region"]));
    if (v["touch_pages"] > v["region"] / k_page)
      throw std::invalid_argument("--set touch_pages: " + std::to_string(v["touch_pages"]) +
                                  " pages do not fit in region " +
                                  workload::format_param(decls[0], v["region"]));
  }
  return v;
}

std::int64_t host_param(std::string_view scenario, const workload::param_values& values,
                        std::string_view key) {
  if (const auto it = values.find(key); it != values.end()) return it->second;
  const param_decl* d = workload::find_param(host_params(scenario), key);
  if (!d)
    throw std::logic_error("host scenario " + std::string(scenario) + " has no parameter " +
                           std::string(key));
  return d->default_for(0);
}

std::int64_t munmap_touch_stride(std::int64_t region, std::int64_t touch_pages) {
  return std::max<std::int64_t>(k_page, region / touch_pages / k_page * k_page);
}

std::int64_t uffd_pages_before_boundary(std::int64_t pages, bool crossing) {
  return crossing ? pages / 2 : 0;
}

uffd_layout uffd_area_layout(std::int64_t pages, bool crossing) {
  const auto up = [](std::int64_t n) { return (n + k_huge - 1) / k_huge * k_huge; };
  uffd_layout l{};
  l.len = pages * k_page;
  l.before = uffd_pages_before_boundary(pages, crossing) * k_page;
  l.head = up(l.before);
  l.used = l.head + up(l.len);
  return l;
}

std::int64_t hugetlb_touch_stride(std::int64_t touch) {
  return k_gib / touch / k_huge * k_huge;
}

}  // namespace sd::host
