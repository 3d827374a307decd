// mm::holder_list against the std::vector it replaced: the same pushes and removals (the
// last holder moved into the hole) give the same elements in the same order, and each
// holder's entry is told its position, through lists that grow and shrink across the one
// inline holder and the spilled vector, after every operation.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "mm/holder_list.h"

namespace sd::test {
namespace {

TEST(HolderList, KeepsTheOrderOfAVectorAcrossTheInlineHolder) {
  mm::holder_list list;
  std::vector<mm::tlb_holder> ref;
  // The entries' position records: slot k of entry k; each holder points at its own.
  std::array<std::uint32_t, 64> slots{};
  std::array<bool, 64> held{};
  std::mt19937_64 rng(11);
  for (int op = 0; op < 100000; ++op) {
    // Small lists (0 to 4 holders) most of the time, so that 1 <-> 2 is crossed often.
    const bool add = ref.empty() || (ref.size() < 4 ? rng() % 2 == 0 : rng() % 4 == 0);
    if (add) {
      std::uint32_t e = 0;
      while (held[e]) e = static_cast<std::uint32_t>(rng() % slots.size());
      held[e] = true;
      const mm::tlb_holder h{e, static_cast<std::uint32_t>(rng() % 3), &slots[e]};
      slots[e] = list.push_back(h);
      ASSERT_EQ(slots[e], ref.size()) << "op " << op;
      ref.push_back(h);
    } else {
      const auto i = static_cast<std::uint32_t>(rng() % ref.size());
      held[ref[i].cpu] = false;
      list.remove(i);
      ref[i] = ref.back();
      ref.pop_back();
    }
    const auto view = list.view();
    ASSERT_EQ(view.size(), ref.size()) << "op " << op;
    ASSERT_EQ(list.size(), ref.size()) << "op " << op;
    for (std::uint32_t i = 0; i < ref.size(); ++i) {
      EXPECT_EQ(view[i].cpu, ref[i].cpu) << "op " << op << " holder " << i;
      EXPECT_EQ(view[i].asid, ref[i].asid) << "op " << op << " holder " << i;
      EXPECT_EQ(view[i].slot, ref[i].slot) << "op " << op << " holder " << i;
      EXPECT_EQ(*view[i].slot, i) << "op " << op << " holder " << i;
      EXPECT_EQ(list[i].cpu, ref[i].cpu) << "op " << op << " holder " << i;
    }
  }
}

}  // namespace
}  // namespace sd::test
