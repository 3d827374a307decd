// One CPU's TLB: leaf translations and paging-structure (walk) cache entries, both tagged
// by an ASID/PCID. x86 tags with the per-CPU dynamic ASID slot (0..5), arm64 with the mm's
// ASID. Every entry remembers the generation of the frame it points at, so a later use can
// tell whether that frame was freed or reused in between.
#pragma once
#include <compare>
#include <cstdint>
#include <utility>
#include <vector>

#include "hw/open_table.h"
#include "mm/memory.h"

namespace sd::hw {

using mm::pfn_t;
using mm::va_t;

// A broadcast invalidation (arm64 TLBI ... IS, x86 INVLPGB) as it reaches one CPU's TLB.
// Issue and completion are separate events (kernel-mechanisms s12.14): only the completion
// wait (DSB ISH, TLBSYNC) says it reached every CPU.
struct invalidation {
  std::uint32_t asid = 0;
  va_t start = 0;
  va_t end = 0;
  bool whole_asid = false;  // TLBI ASIDE1IS, INVLPGB of the whole PCID
  bool leaf_only = false;   // last-level: the walk caches keep their entries
};

struct tlb_entry {
  pfn_t pfn = 0;
  std::uint32_t generation = 0;
  bool writable = false;
  std::uint32_t holder = 0;  // position in the frame's holder list (mm::tlb_holder::slot)
  // The same translation: a fill with it would change nothing.
  bool same_translation(const tlb_entry& o) const {
    return pfn == o.pfn && generation == o.generation && writable == o.writable;
  }
};

// Stored in a flat hash table (hw/open_table.h) instead of a red-black tree: a lookup is one
// probe (issue 12). Beside it, which pages of each 64-page chunk are cached, so a range
// flush or walk finds its entries chunk by chunk without visiting the others (a broadcast
// reaches every CPU holding the tag, most of which cache nothing in the range). Operations
// over a range erase in key order, as the tree walk did: each frame's holder list, and so
// every output, stays the same.
class tlb {
 public:
  // level 0: leaf entry for the page at va. level L >= 1: cached upper-level entry that
  // points at the level-L table covering va.
  struct key {
    // asid << 8 | level: one word that orders as (asid, level) does, levels being below
    // 256, so that comparing two keys is two integer compares (a hash-table probe makes
    // two comparisons; the three-field compare was 6.7% of rt-isolated x86 at 4096 CPUs).
    std::uint64_t tag;
    std::uint64_t index;
    static key of(std::uint32_t asid, unsigned lvl, std::uint64_t index) {
      return {std::uint64_t{asid} << 8 | lvl, index};
    }
    std::uint32_t asid() const { return static_cast<std::uint32_t>(tag >> 8); }
    unsigned lvl() const { return static_cast<unsigned>(tag & 0xff); }
    auto operator<=>(const key&) const = default;
    static key empty() { return of(0, 0xff, 0); }  // no level is 0xff
    static std::uint64_t hash(const key& k) {
      // splitmix64's finalizer over the packed fields: neighbouring pages spread out.
      std::uint64_t x = k.index * 0x9e3779b97f4a7c15ULL ^ k.tag;
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
      return x ^ (x >> 31);
    }
  };
  static key leaf_key(std::uint32_t asid, va_t va) {
    return key::of(asid, 0, va >> mm::PAGE_SHIFT);
  }
  static key walk_key(std::uint32_t asid, unsigned table_level, va_t va) {
    return key::of(asid, table_level, va >> mm::level_shift(table_level + 1));
  }

  tlb(std::uint32_t cpu, mm::memory& mem);
  // Holders point into the entries (tlb_entry::holder): a copy would leave them behind.
  tlb(const tlb&) = delete;
  tlb& operator=(const tlb&) = delete;
  tlb(tlb&&) = default;  // the slot arrays keep their addresses

  // Every access is logged for check's reduction (mm::access_log).
  const tlb_entry* find(const key& k) const {
    mem_->log.tlb(cpu_);
    return entries_.find(k);
  }
  // Caches `e` at `k` (one probe of the table); false when `k` held that translation already
  // (same frame, generation and write permission) and nothing changed.
  bool insert(const key& k, tlb_entry e);

  // Leaf entries of [start, end) (arm64 TLBI VALE*, x86 INVLPG's leaf part).
  std::uint64_t flush_leaf_range(std::uint32_t asid, va_t start, va_t end);
  // Walk-cache entries whose table covers part of [start, end) (arm64 TLBI VAE*).
  std::uint64_t flush_walk_range(std::uint32_t asid, va_t start, va_t end);
  // The walk-cache entry of one level for va, if cached (an x86 page fault's invalidation).
  std::uint64_t flush_walk_entry(std::uint32_t asid, unsigned table_level, va_t va);
  // Every walk-cache entry of the tag (x86 INVLPG drops all paging-structure caches of the
  // current PCID, Intel SDM 4.10.4.1).
  std::uint64_t flush_walk_all(std::uint32_t asid);
  // Everything of the tag (CR3 write without NOFLUSH, TLBI ASIDE1IS).
  std::uint64_t flush_asid(std::uint32_t asid);
  // Everything, every tag (a full guest TLB flush at VM entry).
  std::uint64_t flush_all();
  // What a broadcast invalidation removes here.
  std::uint64_t apply(const invalidation& inv);
  // Which CPUs' TLBs may hold an entry that apply(inv), or a leaf flush of [start, end) of
  // the tag (chunk_directory::any_tag: of every tag), would remove: ORed into the CPU bitmap
  // `cpus`, a superset (CPUs holding something in a 64-entry chunk the range touches). False, with
  // `cpus` to be discarded, when the range spans too many chunks to look up: then visit every
  // holder of the tag.
  static bool holders_of(const mm::memory& mem, const invalidation& inv,
                         std::vector<std::uint64_t>& cpus);
  static bool leaf_holders(const mm::memory& mem, std::uint32_t asid, va_t start, va_t end,
                           std::vector<std::uint64_t>& cpus);
  // Whether any entry (leaf or walk cache, any tag) covers va, and dropping them all: the
  // hardware evicting them for capacity, which it may do at any time.
  bool covers(va_t va) const;
  std::uint64_t evict(va_t va);

  // Calls f(va, entry) for each leaf entry of the tag in [start, end), in address order.
  // f must not change this TLB.
  template <typename F>
  void for_each_leaf(std::uint32_t asid, va_t start, va_t end, F&& f) const {
    mem_->log.tlb(cpu_);
    collect(leaf_key(asid, start), leaf_key(asid, end - 1));
    for (const key& k : scratch_) f(k.index << mm::PAGE_SHIFT, *entries_.find(k));
  }
  std::size_t size() const {
    mem_->log.tlb(cpu_);
    return entries_.size();
  }

 private:
  static constexpr unsigned k_chunk_shift = 6;  // 64 pages (or tables) per chunk
  static key chunk_of(const key& k) { return {k.tag, k.index >> k_chunk_shift}; }
  static std::uint64_t chunk_bit(const key& k) {
    return std::uint64_t{1} << (k.index & ((1u << k_chunk_shift) - 1));
  }
  void erase_at(std::size_t i);
  // scratch_ = the keys in [first, last] (inclusive), in key order.
  void collect(const key& first, const key& last) const;
  std::uint64_t erase_keys(const key& first, const key& last);  // inclusive
  std::uint64_t erase_everything();
  static bool key_covers(const key& k, va_t va) {
    return k.index == (k.lvl() == 0 ? va >> mm::PAGE_SHIFT : va >> mm::level_shift(k.lvl() + 1));
  }
  std::uint32_t cpu_;
  mm::memory* mem_;
  open_table<key, tlb_entry> entries_;
  open_table<key, std::uint64_t> chunks_;  // chunk_of(key) -> which of its 64 keys are held
  mutable std::vector<key> scratch_;
  mutable std::vector<std::pair<key, std::uint64_t>> chunk_scratch_;
  std::vector<std::size_t> positions_;
};

}  // namespace sd::hw
