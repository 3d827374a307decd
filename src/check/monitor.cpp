#include "check/monitor.h"

#include <array>

namespace sd::check {

namespace {
struct info {
  std::string_view name;
  std::string_view help;
};
constexpr std::array<info, static_cast<std::size_t>(invariant::count_)> k_info{{
    {"pt-use-after-free",
     "a lockless walker (GUP-fast) read a page-table page after it was freed or reused "
     "(kernel-mechanisms s11.2/s11.3)"},
    {"walk-cache-freed-table",
     "a page-table page was freed while a CPU running the mm still cached a pointer to it in "
     "its paging-structure cache (s11.2)"},
    {"lazy-cpu-freed-table",
     "a page-table page was freed while a lazy-TLB CPU with the mm loaded still cached a "
     "pointer to it: a speculative walk can read garbage (s11.7, s12.1)"},
    {"stale-tlb-after-flush",
     "after a flush of a range completed, a CPU running the mm still holds a translation in "
     "that range that no longer matches the page table (s11.5)"},
    {"data-page-freed-while-mapped",
     "a data page was freed while a CPU running the mm still had a TLB entry for it (s11.1)"},
    {"stale-tlb-use",
     "a CPU translated an address through a TLB entry whose page was freed (s11.5)"},
    {"tlb-gen-regression", "x86 per-CPU tlb_gen ran ahead of the mm's tlb_gen (s11.6)"},
    {"gup-fast-stale-page",
     "GUP-fast returned a page that was no longer the one mapped at the address (s11.14)"},
    {"deadlock", "a CPU's thread never finished: it stayed blocked with nothing left to wake it"},
}};
}  // namespace

std::string_view invariant_name(invariant i) {
  return k_info[static_cast<std::size_t>(i)].name;
}
std::string_view invariant_help(invariant i) {
  return k_info[static_cast<std::size_t>(i)].help;
}

}  // namespace sd::check
