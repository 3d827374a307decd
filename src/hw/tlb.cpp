#include "hw/tlb.h"

#include <algorithm>

namespace sd::hw {

std::size_t tlb::place(const key& k, const tlb_entry& e) {
  std::size_t i = home(k);
  while (slots_[i].k.lvl != k_empty) i = next(i);
  slots_[i] = {k, e};
  return i;
}

void tlb::grow() {
  std::vector<slot> old(slots_.empty() ? 16 : 2 * slots_.size());
  old.swap(slots_);
  for (const slot& s : old)
    if (s.k.lvl != k_empty) moved(slots_[place(s.k, s.e)]);
}

void tlb::insert(const key& k, tlb_entry e) {
  mem_->log.tlb(cpu_);
  if (const std::size_t i = position(k); i != npos) {
    tlb_entry& old = slots_[i].e;
    if (old.pfn == e.pfn && old.generation == e.generation) {
      e.holder = old.holder;
      old = e;
      return;
    }
    mem_->remove_holder(old.pfn, old.holder);
    old = e;
    mem_->add_holder(e.pfn, {cpu_, k.asid, &old.holder});
    return;
  }
  if (2 * (size_ + 1) > slots_.size()) grow();
  slot& s = slots_[place(k, e)];
  ++size_;
  mem_->asids.added(cpu_, k.asid);
  mem_->add_holder(e.pfn, {cpu_, k.asid, &s.e.holder});
}

void tlb::erase_at(std::size_t hole) {
  mem_->remove_holder(slots_[hole].e.pfn, slots_[hole].e.holder);
  mem_->asids.removed(cpu_, slots_[hole].k.asid);
  --size_;
  // Linear probing without tombstones: move back each later entry of the run whose home
  // does not lie cyclically in (hole, its slot].
  for (std::size_t i = next(hole);; i = next(i)) {
    slot& s = slots_[i];
    if (s.k.lvl == k_empty) break;
    const std::size_t h = home(s.k);
    const bool stays = hole < i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (stays) continue;
    slots_[hole] = s;
    moved(slots_[hole]);
    hole = i;
  }
  slots_[hole] = slot{};
}

void tlb::collect(const key& first, const key& last) const {
  scratch_.clear();
  if (size_ == 0) return;
  if (first.asid == last.asid && first.lvl == last.lvl && last.index - first.index < size_) {
    // A narrow range: probe each key of it, already in order.
    for (std::uint64_t i = first.index;; ++i) {
      const key k{first.asid, first.lvl, i};
      if (position(k) != npos) scratch_.push_back(k);
      if (i == last.index) break;
    }
    return;
  }
  for (const slot& s : slots_)
    if (s.k.lvl != k_empty && first <= s.k && s.k <= last) scratch_.push_back(s.k);
  std::sort(scratch_.begin(), scratch_.end());
}

std::uint64_t tlb::erase_keys(const key& first, const key& last) {
  collect(first, last);
  for (const key& k : scratch_) erase_at(position(k));
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

std::uint64_t tlb::flush_walk_all(std::uint32_t asid) {
  mem_->log.tlb(cpu_);
  return erase_keys({asid, 1, 0}, {asid, 0xfe, ~std::uint64_t{0}});
}

std::uint64_t tlb::flush_asid(std::uint32_t asid) {
  mem_->log.tlb(cpu_);
  return erase_keys({asid, 0, 0}, {asid, 0xfe, ~std::uint64_t{0}});
}

std::uint64_t tlb::flush_all() {
  mem_->log.tlb(cpu_);
  return erase_keys({0, 0, 0}, {~std::uint32_t{0}, 0xfe, ~std::uint64_t{0}});
}

std::uint64_t tlb::apply(const invalidation& inv) {
  mem_->log.tlb(cpu_);
  if (inv.whole_asid) return flush_asid(inv.asid);
  std::uint64_t n = flush_leaf_range(inv.asid, inv.start, inv.end);
  if (!inv.leaf_only) n += flush_walk_range(inv.asid, inv.start, inv.end);
  return n;
}

bool tlb::covers(va_t va) const {
  mem_->log.tlb(cpu_);
  return std::any_of(slots_.begin(), slots_.end(),
                     [&](const slot& s) { return s.k.lvl != k_empty && key_covers(s.k, va); });
}

std::uint64_t tlb::evict(va_t va) {
  mem_->log.tlb(cpu_);
  scratch_.clear();
  for (const slot& s : slots_)
    if (s.k.lvl != k_empty && key_covers(s.k, va)) scratch_.push_back(s.k);
  std::sort(scratch_.begin(), scratch_.end());
  for (const key& k : scratch_) erase_at(position(k));
  return scratch_.size();
}

}  // namespace sd::hw
