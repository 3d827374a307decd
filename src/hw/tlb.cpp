#include "hw/tlb.h"

#include <algorithm>
#include <bit>

namespace sd::hw {

tlb::tlb(std::uint32_t cpu, mm::memory& mem) : cpu_(cpu), mem_(&mem) {
  // An entry that changes slot tells its frame's holder record where it is now.
  entries_.on_move(
      [](void* m, tlb_entry& e) {
        static_cast<mm::memory*>(m)->move_holder(e.pfn, e.holder, &e.holder);
      },
      mem_);
}

bool tlb::insert(const key& k, tlb_entry e) {
  mem_->log.tlb(cpu_);
  const auto [slot, fresh] = entries_.try_insert(k, e);
  if (!fresh) {
    if (slot->same_translation(e)) return false;
    if (slot->pfn == e.pfn && slot->generation == e.generation) {
      slot->writable = e.writable;  // same frame: it keeps its place among the holders
      return true;
    }
    mem_->remove_holder(slot->pfn, slot->holder);
    *slot = e;
    mem_->add_holder(e.pfn, {cpu_, k.asid(), &slot->holder});
    return true;
  }
  mem_->asids.added(cpu_, k.asid());
  mem_->add_holder(e.pfn, {cpu_, k.asid(), &slot->holder});
  const key c = chunk_of(k);
  if (const auto [bits, new_chunk] = chunks_.try_insert(c, chunk_bit(k)); new_chunk)
    mem_->chunks.added(cpu_, c.asid(), c.lvl(), c.index);
  else
    *bits |= chunk_bit(k);
  return true;
}

void tlb::erase_at(std::size_t i) {
  const auto& s = entries_.slots()[i];
  const key k = s.key;
  mem_->remove_holder(s.value.pfn, s.value.holder);
  mem_->asids.removed(cpu_, k.asid());
  entries_.erase_at(i);
  const std::size_t c = chunks_.position(chunk_of(k));
  std::uint64_t& bits = chunks_.value_at(c);
  bits &= ~chunk_bit(k);
  if (bits == 0) {
    const key ck = chunks_.slots()[c].key;
    mem_->chunks.removed(cpu_, ck.asid(), ck.lvl(), ck.index);
    chunks_.erase_at(c);
  }
}

void tlb::collect(const key& first, const key& last) const {
  scratch_.clear();
  if (entries_.size() == 0 || last < first) return;
  // The held chunks of the range, in key order (a chunk's keys follow its own order, and
  // chunk_of keeps the order of keys), either looked up one by one (one tag and level, a
  // range much narrower than the chunk table) or read off the chunk table, which has at
  // most one slot per held key and usually far fewer: a full flush of the tag reads that
  // instead of every entry slot (issue 12; each slot is a cache miss at thousands of CPUs).
  const key first_chunk = chunk_of(first);
  const key last_chunk = chunk_of(last);
  chunk_scratch_.clear();
  if (first.tag == last.tag &&
      4 * (last_chunk.index - first_chunk.index + 1) <= chunks_.slots().size()) {
    for (key ch = first_chunk;; ++ch.index) {
      if (const std::uint64_t* bits = chunks_.find(ch)) chunk_scratch_.push_back({ch, *bits});
      if (ch.index == last_chunk.index) break;
    }
  } else {
    for (const auto& s : chunks_.slots())
      if (s.used() && first_chunk <= s.key && s.key <= last_chunk)
        chunk_scratch_.push_back({s.key, s.value});
    std::sort(chunk_scratch_.begin(), chunk_scratch_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (const auto& [ch, bits] : chunk_scratch_)
    for (std::uint64_t b = bits; b != 0; b &= b - 1) {
      const key k{ch.tag, ch.index << k_chunk_shift | static_cast<unsigned>(std::countr_zero(b))};
      if (first <= k && k <= last) scratch_.push_back(k);
    }
}

std::uint64_t tlb::erase_keys(const key& first, const key& last) {
  collect(first, last);
  if (!scratch_.empty() && scratch_.size() == entries_.size()) return erase_everything();
  for (const key& k : scratch_) erase_at(entries_.position(k));
  entries_.shrink_if_sparse();
  chunks_.shrink_if_sparse();
  return scratch_.size();
}

// Every entry is in scratch_: a full flush, or a flush of the only tag this TLB holds (on
// x86 the CR3 write that most remote flushes of many pages end in). The frames' holder
// lists and the directories change as erase_at, in key order, would change them; but no
// entry moves, so there is no probe-run shifting per entry, and each chunk is dropped once
// rather than bit by bit.
std::uint64_t tlb::erase_everything() {
  positions_.clear();
  for (const key& k : scratch_) {
    const std::size_t i = entries_.position(k);
    const tlb_entry& e = entries_.value_at(i);
    mem_->remove_holder(e.pfn, e.holder);
    mem_->asids.removed(cpu_, k.asid());
    positions_.push_back(i);
  }
  entries_.clear_at(positions_);
  positions_.clear();
  for (const auto& [ch, bits] : chunk_scratch_) {
    mem_->chunks.removed(cpu_, ch.asid(), ch.lvl(), ch.index);
    positions_.push_back(chunks_.position(ch));
  }
  chunks_.clear_at(positions_);
  return scratch_.size();
}

std::uint64_t tlb::flush_leaf_range(std::uint32_t asid, va_t start, va_t end) {
  mem_->log.tlb(cpu_);
  return erase_keys(leaf_key(asid, start), leaf_key(asid, end - 1));
}

std::uint64_t tlb::flush_walk_range(std::uint32_t asid, va_t start, va_t end) {
  mem_->log.tlb(cpu_);
  std::uint64_t n = 0;
  for (unsigned l = 1; l <= 3; ++l)
    n += erase_keys(walk_key(asid, l, start), walk_key(asid, l, end - 1));
  return n;
}

std::uint64_t tlb::flush_walk_entry(std::uint32_t asid, unsigned table_level, va_t va) {
  mem_->log.tlb(cpu_);
  const key k = walk_key(asid, table_level, va);
  return erase_keys(k, k);
}

std::uint64_t tlb::flush_walk_all(std::uint32_t asid) {
  mem_->log.tlb(cpu_);
  return erase_keys(key::of(asid, 1, 0), key::of(asid, 0xff, ~std::uint64_t{0}));
}

std::uint64_t tlb::flush_asid(std::uint32_t asid) {
  mem_->log.tlb(cpu_);
  return erase_keys(key::of(asid, 0, 0), key::of(asid, 0xff, ~std::uint64_t{0}));
}

std::uint64_t tlb::flush_all() {
  mem_->log.tlb(cpu_);
  return erase_keys(key::of(0, 0, 0), key::of(~std::uint32_t{0}, 0xff, ~std::uint64_t{0}));
}

std::uint64_t tlb::apply(const invalidation& inv) {
  mem_->log.tlb(cpu_);
  if (inv.whole_asid) return flush_asid(inv.asid);
  std::uint64_t n = flush_leaf_range(inv.asid, inv.start, inv.end);
  if (!inv.leaf_only) n += flush_walk_range(inv.asid, inv.start, inv.end);
  return n;
}

bool tlb::leaf_holders(const mm::memory& mem, std::uint32_t asid, va_t start, va_t end,
                       std::vector<std::uint64_t>& cpus) {
  if (end <= start) return true;
  return mem.chunks.gather(asid, 0, chunk_of(leaf_key(asid, start)).index,
                           chunk_of(leaf_key(asid, end - 1)).index, cpus);
}

bool tlb::holders_of(const mm::memory& mem, const invalidation& inv,
                     std::vector<std::uint64_t>& cpus) {
  if (inv.whole_asid) return false;
  if (!leaf_holders(mem, inv.asid, inv.start, inv.end, cpus)) return false;
  if (inv.leaf_only || inv.end <= inv.start) return true;
  for (unsigned l = 1; l <= 3; ++l)
    if (!mem.chunks.gather(inv.asid, l, chunk_of(walk_key(inv.asid, l, inv.start)).index,
                           chunk_of(walk_key(inv.asid, l, inv.end - 1)).index, cpus))
      return false;
  return true;
}

bool tlb::covers(va_t va) const {
  mem_->log.tlb(cpu_);
  const auto& s = entries_.slots();
  return std::any_of(s.begin(), s.end(),
                     [&](const auto& x) { return x.used() && key_covers(x.key, va); });
}

std::uint64_t tlb::evict(va_t va) {
  mem_->log.tlb(cpu_);
  scratch_.clear();
  for (const auto& s : entries_.slots())
    if (s.used() && key_covers(s.key, va)) scratch_.push_back(s.key);
  std::sort(scratch_.begin(), scratch_.end());
  for (const key& k : scratch_) erase_at(entries_.position(k));
  return scratch_.size();
}

}  // namespace sd::hw
