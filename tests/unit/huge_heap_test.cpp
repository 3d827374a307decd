// The heap grows in mappings advised MADV_HUGEPAGE once back_heap_with_huge_pages ran
// (sim/huge_heap.h): the kernel lists such a mapping with the "hg" VmFlag in smaps.
#include "sim/huge_heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace {

// The VmFlags line of the mapping that holds p, or "" when none does.
std::string vm_flags_of(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(HugeHeap, LaterHeapGrowthIsAdvisedHugePages) {
  // Without THP in the kernel, madvise(MADV_HUGEPAGE) fails and the heap is ordinary.
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"))
    GTEST_SKIP() << "kernel without transparent huge pages";
  if (!sd::sim::back_heap_with_huge_pages()) GTEST_SKIP() << "built without tcmalloc";
  // Larger than anything the heap holds free yet: served from a new system allocation.
  constexpr std::size_t k_len = std::size_t{64} << 20;
  auto block = std::make_unique<char[]>(k_len);
  block[0] = 1;
  const std::string flags = vm_flags_of(block.get());
  ASSERT_FALSE(flags.empty()) << "no mapping holds the block";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}

}  // namespace
