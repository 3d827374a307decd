#include "mm/memory.h"

#include <algorithm>
#include <stdexcept>

namespace sd::mm {

pfn_t memory::take_frame() {
  pfn_t pfn;
  if (!free_list_.empty()) {
    pfn = free_list_.back();
    free_list_.pop_back();
  } else {
    pfn = static_cast<pfn_t>(frames_.size());
    frames_.emplace_back();
    holders_.emplace_back();
  }
  frame& f = frames_[pfn];
  ++f.generation;  // reuse is a new life of the frame
  return pfn;
}

pfn_t memory::alloc_data(bool huge) {
  pfn_t pfn = take_frame();
  frame& f = frames_[pfn];
  f.kind = frame_kind::data;
  f.huge = huge;
  f.refcount = 1;
  f.table.reset();
  return pfn;
}

pfn_t memory::alloc_table(level l, std::uint32_t owner_mm) {
  pfn_t pfn = take_frame();
  frame& f = frames_[pfn];
  f.kind = frame_kind::pgtable;
  f.lvl = l;
  f.refcount = 1;
  f.owner_mm = owner_mm;
  f.pt_share_count = 0;
  f.table = std::make_unique<pt_table>();
  if (!f.ptl) f.ptl = std::make_unique<spinlock>();  // ptlock_init() at pagetable_*_ctor
  return pfn;
}

void memory::free(pfn_t pfn) {
  frame& f = frames_[pfn];
  if (f.kind == frame_kind::free) throw std::logic_error("model bug: double free of a frame");
  if (f.kind == frame_kind::pgtable && f.ptl->is_locked())
    throw std::logic_error("model bug: a page table freed with its lock held");
  // Every path empties a table before it frees it (zap, then free_pgtables or PT_RECLAIM);
  // an entry left behind is a page mapped from a table nobody can reach.
  if (f.kind == frame_kind::pgtable && f.table)
    for (const pt_entry& e : f.table->e)
      if (e.present())
        throw std::logic_error("model bug: a page table freed while it maps something");
  f.kind = frame_kind::free;
  f.refcount = 0;
  ++f.generation;
  // The memory keeps its old contents: a walker that still reads it sees stale entries,
  // exactly the hazard the monitors look for. It is wiped when reused as a table.
  free_list_.push_back(pfn);
}

void memory::reuse_table(pfn_t pfn) {
  frame& f = frames_[pfn];
  if (f.kind != frame_kind::pgtable) throw std::logic_error("model bug: reuse of a non-table");
  ++f.generation;
  f.table = std::make_unique<pt_table>();
}

void memory::remove_holder(pfn_t pfn, std::uint32_t slot) {
  holder_list& l = holders_[pfn];
  if (slot >= l.size()) throw std::logic_error("model bug: TLB holder slot out of range");
  l.remove(slot);
}

}  // namespace sd::mm
