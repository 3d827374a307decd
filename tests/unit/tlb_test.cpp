// hw::tlb's hash tables against a plain ordered map: after random inserts, range flushes
// (narrow ones go chunk by chunk, wide ones scan), tag flushes and evictions on two CPUs
// sharing frames, every lookup agrees, every frame's holder list is the one that erasing in
// key order gives (the order every output depends on), and each holder points back at its
// entry. The memory's directories follow: which CPUs hold entries in each 64-entry chunk of
// a tag and level (mm::chunk_directory, read by range broadcasts and the stale-TLB check)
// and which CPUs hold anything (asid_directory::nonempty).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "hw/tlb.h"

namespace sd::test {
namespace {

using hw::tlb;
using mm::pfn_t;
using mm::va_t;

// The reference: the entries in a std::map, and each frame's holder list kept with the
// same rule as mm::memory (append; a removed holder's place taken by the last one).
struct reference {
  struct holder {
    std::uint32_t cpu;
    tlb::key k;
    bool operator==(const holder&) const = default;
  };
  std::map<tlb::key, hw::tlb_entry> entries[2];
  std::map<pfn_t, std::vector<holder>> holders;

  void remove_holder(pfn_t pfn, const holder& h) {
    auto& v = holders[pfn];
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i] == h) {
        v[i] = v.back();
        v.pop_back();
        return;
      }
  }
  void drop(std::uint32_t cpu, const tlb::key& k) {
    remove_holder(entries[cpu].at(k).pfn, {cpu, k});
    entries[cpu].erase(k);
  }
  // Whether the entries changed (tlb::insert says so too).
  bool insert(std::uint32_t cpu, const tlb::key& k, const hw::tlb_entry& e) {
    auto it = entries[cpu].find(k);
    if (it != entries[cpu].end() && it->second.pfn == e.pfn &&
        it->second.generation == e.generation) {
      const bool changed = it->second.writable != e.writable;
      it->second = e;
      return changed;
    }
    // An entry replaced in place: the old holder leaves, the new one is appended.
    if (it != entries[cpu].end()) remove_holder(it->second.pfn, {cpu, k});
    entries[cpu][k] = e;
    holders[e.pfn].push_back({cpu, k});
    return true;
  }
  std::uint64_t erase_range(std::uint32_t cpu, const tlb::key& first, const tlb::key& last) {
    std::vector<tlb::key> keys;
    for (auto it = entries[cpu].lower_bound(first); it != entries[cpu].end() && it->first <= last;
         ++it)
      keys.push_back(it->first);
    for (const auto& k : keys) drop(cpu, k);
    return keys.size();
  }
};

TEST(Tlb, HashTableAgreesWithAnOrderedMapUnderChurn) {
  mm::memory mem;
  std::vector<pfn_t> frames;
  for (int i = 0; i < 24; ++i) frames.push_back(mem.alloc_data());
  std::vector<tlb> tlbs;
  tlbs.emplace_back(0, mem);
  tlbs.emplace_back(1, mem);
  reference ref;
  std::mt19937_64 rng(7);
  auto pick = [&](std::uint64_t n) { return static_cast<std::uint64_t>(rng() % n); };
  // Few tags, levels and addresses, so keys collide, repeat and share frames.
  auto random_key = [&]() {
    const auto lvl = static_cast<unsigned>(pick(4));
    const va_t va = pick(3) * mm::PUD_SIZE + pick(600) * mm::PAGE_SIZE;
    const auto asid = static_cast<std::uint32_t>(pick(3));
    return lvl == 0 ? tlb::leaf_key(asid, va) : tlb::walk_key(asid, lvl, va);
  };

  std::set<std::tuple<std::uint32_t, unsigned, std::uint64_t>> chunks_seen;
  for (int op = 0; op < 20000; ++op) {
    const auto cpu = static_cast<std::uint32_t>(pick(2));
    tlb& t = tlbs[cpu];
    const auto what = pick(100);
    if (what < 80) {
      const tlb::key k = random_key();
      hw::tlb_entry e;
      e.pfn = frames[pick(frames.size())];
      e.generation = static_cast<std::uint32_t>(pick(2));
      e.writable = pick(2) == 1;
      EXPECT_EQ(t.insert(k, e), ref.insert(cpu, k, e)) << "op " << op;
      chunks_seen.insert({k.asid(), k.lvl(), k.index >> 6});
    } else if (what < 92) {
      const auto asid = static_cast<std::uint32_t>(pick(3));
      const va_t start = pick(3) * mm::PUD_SIZE + pick(600) * mm::PAGE_SIZE;
      const va_t end = start + (1 + pick(pick(2) ? 8 : 700)) * mm::PAGE_SIZE;
      std::uint64_t want =
          ref.erase_range(cpu, tlb::leaf_key(asid, start), tlb::leaf_key(asid, end - 1));
      for (unsigned l = 1; l <= 3; ++l)
        want +=
            ref.erase_range(cpu, tlb::walk_key(asid, l, start), tlb::walk_key(asid, l, end - 1));
      ASSERT_EQ(t.apply({asid, start, end, false, false}), want) << "op " << op;
    } else if (what < 95) {
      const auto asid = static_cast<std::uint32_t>(pick(3));
      ASSERT_EQ(t.flush_asid(asid),
                ref.erase_range(cpu, tlb::key::of(asid, 0, 0), tlb::key::of(asid, 0xfe, ~0ULL)));
    } else if (what < 97) {
      const auto asid = static_cast<std::uint32_t>(pick(3));
      ASSERT_EQ(t.flush_walk_all(asid),
                ref.erase_range(cpu, tlb::key::of(asid, 1, 0), tlb::key::of(asid, 0xfe, ~0ULL)));
    } else if (what < 98) {
      // Everything: the path that drops a whole table without erasing entry by entry.
      ASSERT_EQ(t.flush_all(),
                ref.erase_range(cpu, tlb::key::of(0, 0, 0), tlb::key::of(~0u, 0xfe, ~0ULL)));
    } else {
      const va_t va = pick(3) * mm::PUD_SIZE + pick(600) * mm::PAGE_SIZE;
      std::vector<tlb::key> keys;
      for (const auto& [k, e] : ref.entries[cpu])
        if (k.index == (k.lvl() == 0 ? va >> mm::PAGE_SHIFT : va >> mm::level_shift(k.lvl() + 1)))
          keys.push_back(k);
      ASSERT_EQ(t.covers(va), !keys.empty());
      for (const auto& k : keys) ref.drop(cpu, k);
      ASSERT_EQ(t.evict(va), keys.size());
    }
    if (op % 97 != 0) continue;
    for (const auto& [asid, lvl, chunk] : chunks_seen) {
      std::vector<std::uint64_t> mask;
      ASSERT_TRUE(mem.chunks.gather(asid, lvl, chunk, chunk, mask));
      for (std::uint32_t c = 0; c < 2; ++c) {
        bool held = false;
        for (const auto& [k, e] : ref.entries[c])
          held = held || (k.asid() == asid && k.lvl() == lvl && k.index >> 6 == chunk);
        EXPECT_EQ(!mask.empty() && (mask[0] >> c & 1) == 1, held)
            << "cpu " << c << " tag " << asid << " level " << lvl << " chunk " << chunk << " op "
            << op;
      }
    }
    for (std::uint32_t c = 0; c < 2; ++c) {
      const auto& nonempty = mem.asids.nonempty();
      EXPECT_EQ(!nonempty.empty() && (nonempty[0] >> c & 1) == 1, !ref.entries[c].empty());
    }
    for (std::uint32_t c = 0; c < 2; ++c) {
      ASSERT_EQ(tlbs[c].size(), ref.entries[c].size()) << "op " << op;
      for (const auto& [k, e] : ref.entries[c]) {
        const hw::tlb_entry* got = tlbs[c].find(k);
        ASSERT_NE(got, nullptr) << "op " << op;
        EXPECT_EQ(std::tie(got->pfn, got->generation, got->writable),
                  std::tie(e.pfn, e.generation, e.writable));
        const auto& h = mem.holders(got->pfn);
        ASSERT_LT(got->holder, h.size());
        EXPECT_EQ(h[got->holder].slot, &got->holder) << "op " << op;
        EXPECT_EQ(h[got->holder].cpu, c);
      }
    }
    for (pfn_t f : frames) {
      const auto& h = mem.holders(f);
      const auto& want = ref.holders[f];
      ASSERT_EQ(h.size(), want.size()) << "frame " << f << " op " << op;
      for (std::size_t i = 0; i < h.size(); ++i) {
        EXPECT_EQ(h[i].cpu, want[i].cpu) << "frame " << f << " holder " << i << " op " << op;
        EXPECT_EQ(h[i].slot, &tlbs[want[i].cpu].find(want[i].k)->holder);
      }
    }
  }
  // The walk in address order that the stale-entry monitor uses.
  for (va_t va : {5 * mm::PAGE_SIZE, 3 * mm::PAGE_SIZE, mm::PUD_SIZE + mm::PAGE_SIZE}) {
    const hw::tlb_entry e{frames[0], 0, false, 0};
    tlbs[0].insert(tlb::leaf_key(1, va), e);
    ref.insert(0, tlb::leaf_key(1, va), e);
  }
  std::vector<va_t> seen;
  tlbs[0].for_each_leaf(1, 0, 3 * mm::PUD_SIZE,
                        [&](va_t va, const hw::tlb_entry&) { seen.push_back(va); });
  std::vector<va_t> want;
  for (const auto& [k, e] : ref.entries[0])
    if (k.asid() == 1 && k.lvl() == 0) want.push_back(k.index << mm::PAGE_SHIFT);
  EXPECT_EQ(seen, want);
  EXPECT_FALSE(want.empty());

  // A range over more chunks than the directory looks up, or a whole tag: the caller must
  // visit every holder of the tag instead.
  std::vector<std::uint64_t> mask;
  EXPECT_TRUE(tlb::holders_of(mem, {1, 0, 8 * mm::PAGE_SIZE, false, true}, mask));
  EXPECT_EQ(mask.at(0) & 1, 1u);  // CPU 0 holds tag 1's pages 3 and 5
  EXPECT_FALSE(tlb::holders_of(mem, {1, 0, 300 * 64 * mm::PAGE_SIZE, false, true}, mask));
  EXPECT_FALSE(tlb::holders_of(mem, {1, 0, mm::PAGE_SIZE, true, false}, mask));
}

// Range flushes and the holder lists follow key order, which every output depends on: the
// packed key must order as the (asid, level, index) triple it stands for, and give the
// fields back, up to the largest ASID and the 0xff level the range bounds use.
TEST(Tlb, PackedKeyOrdersAsItsFields) {
  std::mt19937_64 rng(5);
  const std::uint32_t asids[] = {0, 1, 2, 255, 256, 65535, 65536, ~0u};
  const unsigned levels[] = {0, 1, 2, 3, 0xff};
  const std::uint64_t indexes[] = {0, 1, 63, 64, std::uint64_t{1} << 36, ~0ULL};
  auto pick = [&](const auto& v) { return v[rng() % std::size(v)]; };
  for (int i = 0; i < 20000; ++i) {
    const auto a = std::make_tuple(pick(asids), pick(levels), pick(indexes));
    const auto b = std::make_tuple(pick(asids), pick(levels), pick(indexes));
    const tlb::key ka = tlb::key::of(std::get<0>(a), std::get<1>(a), std::get<2>(a));
    const tlb::key kb = tlb::key::of(std::get<0>(b), std::get<1>(b), std::get<2>(b));
    ASSERT_EQ(ka <=> kb, a <=> b) << "key " << i;
    ASSERT_EQ(ka == kb, a == b);
    ASSERT_EQ(std::make_tuple(ka.asid(), ka.lvl(), ka.index), a);
  }
  EXPECT_FALSE(tlb::key::of(0, 0, 0) == tlb::key::empty());
}

}  // namespace
}  // namespace sd::test
