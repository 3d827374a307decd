// The TLB entries that point at one frame, as a list whose first element lives inline.
//
// Most frames are cached by one CPU at a time (a worker's data page, its own PTE table), a
// few by many (the upper tables every CPU walks through). A std::vector per frame allocated
// a heap block for the first holder of every page and read its header and then the block on
// each add, remove and move: at 1,024 CPUs those were cache misses of their own, and the
// allocations 1-2% of munmap-free-tables (issue 12, docs/performance.md). Up to one holder
// lives in the list itself; from two on, all of them live in the vector. The order of the
// elements is a std::vector's under the same operations (push_back, and removal by moving
// the last element into the hole), which the holder order of every frame, and so every
// report, depends on.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace sd::mm {

// Who caches a pointer to a frame in a TLB or paging-structure cache: (cpu, asid tag).
// One per cached entry (a 2 MiB page cached at two 4 KiB offsets has two). `slot` is the
// entry's own record of where its holder sits in the frame's list, so removing it is O(1)
// however many CPUs cache the frame (a full flush on every CPU is then O(entries), not
// O(entries x CPUs)).
struct tlb_holder {
  std::uint32_t cpu;
  std::uint32_t asid;
  std::uint32_t* slot = nullptr;
};

class holder_list {
 public:
  std::size_t size() const { return size_; }
  std::span<const tlb_holder> view() const {
    return size_ <= 1 ? std::span<const tlb_holder>(&one_, size_)
                      : std::span<const tlb_holder>(many_);
  }
  tlb_holder& operator[](std::uint32_t i) { return size_ <= 1 ? one_ : many_[i]; }
  // Appends h; returns its position.
  std::uint32_t push_back(const tlb_holder& h) {
    if (size_ == 0) {
      one_ = h;
    } else {
      if (size_ == 1) many_.assign(1, one_);
      many_.push_back(h);
    }
    return size_++;
  }
  // Moves the last holder into position i (its entry learns the new position through its
  // slot) and drops the last.
  void remove(std::uint32_t i) {
    if (size_ == 1) {
      size_ = 0;
      return;
    }
    if (i + 1 != size_) {
      many_[i] = many_.back();
      *many_[i].slot = i;
    }
    many_.pop_back();
    if (--size_ == 1) {
      one_ = many_.front();
      many_.clear();  // keeps its capacity: a frame many CPUs cache fills it again
    }
  }

 private:
  tlb_holder one_{};
  std::uint32_t size_ = 0;
  std::vector<tlb_holder> many_;  // every holder when there are two or more, else empty
};

}  // namespace sd::mm
