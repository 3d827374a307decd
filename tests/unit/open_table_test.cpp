// hw::open_table's try_insert must put a new key in the very slot find() then insert() would
// have, and leave a present key's value alone: hw::tlb's holder records point into the
// slots, and a slot layout that differed would change the order of every later scan.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "hw/open_table.h"

namespace sd::hw {
namespace {

struct small_key {
  std::uint64_t v;
  bool operator==(const small_key&) const = default;
  static small_key empty() { return {~std::uint64_t{0}}; }
  // Few distinct homes, so that probe runs are long and wrap around the table's end.
  static std::uint64_t hash(const small_key& k) { return k.v % 7; }
};

TEST(OpenTable, TryInsertTakesTheSlotOfFindThenInsertAndKeepsPresentValues) {
  open_table<small_key, std::uint64_t> one_probe, two_probes;
  std::mt19937_64 rng(11);
  unsigned inserted = 0, present = 0, erased = 0;
  for (int op = 0; op < 20000; ++op) {
    const small_key k{rng() % 300};
    if (rng() % 4 == 0) {  // erase, so that holes and shifted runs come and go
      const std::size_t i = two_probes.position(k);
      ASSERT_EQ(one_probe.position(k), i) << "op " << op;
      if (i == two_probes.npos) continue;
      one_probe.erase_at(i);
      two_probes.erase_at(i);
      one_probe.shrink_if_sparse();
      two_probes.shrink_if_sparse();
      ++erased;
      continue;
    }
    const std::uint64_t value = static_cast<std::uint64_t>(op);
    const auto [at, fresh] = one_probe.try_insert(k, value);
    if (std::uint64_t* old = two_probes.find(k)) {
      ASSERT_FALSE(fresh) << "op " << op;
      ASSERT_EQ(*at, *old) << "a present key's value changed, op " << op;
      ++present;
    } else {
      ASSERT_TRUE(fresh) << "op " << op;
      ASSERT_EQ(*at, value);
      ASSERT_EQ(&two_probes.insert(k, value) - &two_probes.value_at(0), at - &one_probe.value_at(0))
          << "op " << op;
      ++inserted;
    }
    ASSERT_EQ(one_probe.size(), two_probes.size());
    ASSERT_EQ(one_probe.slots().size(), two_probes.slots().size()) << "op " << op;
    for (std::size_t i = 0; i < one_probe.slots().size(); ++i)
      ASSERT_EQ(one_probe.slots()[i].key, two_probes.slots()[i].key)
          << "op " << op << " slot " << i;
  }
  // Every path was taken: the table grew (first insert and later ones), keys were found.
  EXPECT_GT(inserted, 1000u);
  EXPECT_GT(present, 1000u);
  EXPECT_GT(erased, 1000u);
}

}  // namespace
}  // namespace sd::hw
