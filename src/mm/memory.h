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

#include "mm/asid_directory.h"
#include "mm/chunk_directory.h"
#include "mm/holder_list.h"
#include "mm/locks.h"
#include "mm/pgtable.h"

namespace sd::mm {

enum class frame_kind : std::uint8_t { free, data, pgtable };

struct pt_table {
  std::array<pt_entry, PTRS_PER_TABLE> e{};
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
  // Page tables: the split page-table lock in the ptdesc (ptlock_ptr, mm/ptlock.h). Made
  // when the frame first becomes a table and kept with the frame, unlocked, from then on:
  // a walker that raced a free may still take the lock of a table it read (the kernel's
  // RCU-deferred table free allows the same) and must then see the PMD changed.
  std::unique_ptr<spinlock> ptl;
};

// What the explored step touched of the state hardware events also touch (check's
// reduction, check/explorer.h): the TLBs of which CPUs, and whether it read the holder
// lists. Every TLB access goes through hw::tlb and every holder read through
// memory::holders, so nothing escapes the log. Recorded only while `on`.
struct access_log {
  bool on = false;
  std::uint64_t tlbs = 0;  // bit per CPU; CPUs past 63 set every bit
  bool holders_read = false;
  void tlb(std::uint32_t cpu) {
    if (on) tlbs |= cpu < 64 ? std::uint64_t{1} << cpu : ~std::uint64_t{0};
  }
};

class memory {
 public:
  memory() {  // pfn 0 is never allocated
    frames_.emplace_back();
    holders_.emplace_back();
  }
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

  // TLB / walk-cache entries that point at the frame (hw::tlb keeps them up to date).
  std::span<const tlb_holder> holders(pfn_t pfn) const {
    if (log.on) log.holders_read = true;
    return holders_[pfn].view();
  }
  // Adds h to the frame's list; *h.slot follows its position from then on.
  void add_holder(pfn_t pfn, tlb_holder h) { *h.slot = holders_[pfn].push_back(h); }
  // Removes the holder at `slot` (the value its entry keeps): the last one takes its place.
  void remove_holder(pfn_t pfn, std::uint32_t slot);
  // The entry behind the holder at `slot` moved (hw::tlb's table): its record follows it.
  void move_holder(pfn_t pfn, std::uint32_t slot, std::uint32_t* now) {
    holders_[pfn][slot].slot = now;
  }

  mutable access_log log;
  asid_directory asids;    // which CPUs cache entries of which tag (hw::tlb keeps it)
  chunk_directory chunks;  // ... and of which 64-entry chunk of a tag and level (same)

 private:
  pfn_t take_frame();
  std::vector<frame> frames_;
  std::vector<holder_list> holders_;  // per frame
  std::vector<pfn_t> free_list_;
};

}  // namespace sd::mm
