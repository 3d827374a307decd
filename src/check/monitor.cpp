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
     "a lockless walker (GUP-fast, perf's NMI page-size walk) read a page-table page after it was "
     "freed or reused "
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
    {"unshare-without-fence",
     "huge_pmd_unshare made a shared PMD table exclusive to its last sharer while a GUP-fast "
     "walker of the unsharing mm was still inside it, and i_mmap_rwsem was released: the last "
     "sharer may reuse the table under the walker (s11.12c, CVE-2025-38085)"},
    {"walk-cache-unshared-table",
     "after unsharing a PMD table (and its flush), a CPU with the mm loaded, lazy ones included, "
     "still caches a pointer to the table: a speculative walk can read the other mm's entries "
     "(s11.12, s12.1; seeds 000/001 unshared_tables)"},
    {"page-table-leak",
     "a page-table page that still maps pages became unreachable from every mm: nothing will "
     "zap its entries or free it, so the table and the pages it maps leak (their mapcounts "
     "never drop)"},
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
