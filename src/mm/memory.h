// Physical frames: data pages and page-table pages (struct page / ptdesc).
//
// Every frame has a generation that changes when it is freed and again when it is
// reused, so a walker or TLB entry that remembers (pfn, generation) can tell that the
// memory it points at is no longer what it read. Only touched frames exist. Freed frames
// are reused last-in first-out, which makes use-after-free visible as early as possible.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "mm/pgtable.h"

namespace sd::mm {

enum class frame_kind : std::uint8_t { free, data, pgtable };

struct pt_table {
  std::array<pt_entry, PTRS_PER_TABLE> e{};
};

// Who caches a pointer to a frame in a TLB or paging-structure cache: (cpu, asid tag).
struct tlb_holder {
  std::uint32_t cpu;
  std::uint32_t asid;
  bool operator==(const tlb_holder&) const = default;
};

struct frame {
  frame_kind kind = frame_kind::free;
  level lvl = level::pte;  // page tables only
  bool huge = false;       // data: a 2 MiB folio (THP or hugetlb page)
  std::uint32_t generation = 0;
  std::int32_t refcount = 0;   // data pages: mappings + speculative GUP references
  std::uint32_t owner_mm = 0;  // page tables: the mm they belong to
  int pt_share_count = 0;      // hugetlb PMD tables: additional sharers (ptdesc->pt_share_count)
  std::unique_ptr<pt_table> table;
  std::vector<tlb_holder> holders;  // TLB / walk-cache entries that point here
};

class memory {
 public:
  memory() { frames_.emplace_back(); }  // pfn 0 is never allocated
  pfn_t alloc_data(bool huge = false);
  pfn_t alloc_table(level l, std::uint32_t owner_mm);
  // Returns the frame to the allocator; its generation changes.
  void free(pfn_t pfn);
  // A page-table page is repurposed without being freed (khugepaged deposit): a walker that
  // read a pointer to it before must notice, so its generation changes and it is wiped.
  void reuse_table(pfn_t pfn);

  frame& operator[](pfn_t pfn) { return frames_[pfn]; }
  const frame& operator[](pfn_t pfn) const { return frames_[pfn]; }
  pt_table& table(pfn_t pfn) { return *frames_[pfn].table; }

  void add_holder(pfn_t pfn, tlb_holder h) { frames_[pfn].holders.push_back(h); }
  void remove_holder(pfn_t pfn, tlb_holder h);

 private:
  pfn_t take_frame();
  std::vector<frame> frames_;
  std::vector<pfn_t> free_list_;
};

}  // namespace sd::mm
