#include "hw/tlb.h"

namespace sd::hw {

void tlb::insert(const key& k, tlb_entry e) {
  auto [it, fresh] = map_.try_emplace(k, e);
  if (!fresh) {
    if (it->second.pfn == e.pfn && it->second.generation == e.generation) {
      it->second = e;
      return;
    }
    mem_->remove_holder(it->second.pfn, {cpu_, k.asid});
    it->second = e;
  }
  mem_->add_holder(e.pfn, {cpu_, k.asid});
}

tlb::map_t::iterator tlb::erase(map_t::iterator it) {
  mem_->remove_holder(it->second.pfn, {cpu_, it->first.asid});
  return map_.erase(it);
}

std::uint64_t tlb::flush_leaf_range(std::uint32_t asid, va_t start, va_t end) {
  std::uint64_t n = 0;
  auto it = map_.lower_bound(leaf_key(asid, start));
  const key last = leaf_key(asid, end - 1);
  while (it != map_.end() && it->first <= last) {
    it = erase(it);
    ++n;
  }
  return n;
}

std::uint64_t tlb::flush_walk_range(std::uint32_t asid, va_t start, va_t end) {
  std::uint64_t n = 0;
  for (unsigned l = 1; l <= 3; ++l) {
    auto it = map_.lower_bound(walk_key(asid, l, start));
    const key last = walk_key(asid, l, end - 1);
    while (it != map_.end() && it->first <= last) {
      it = erase(it);
      ++n;
    }
  }
  return n;
}

std::uint64_t tlb::flush_walk_all(std::uint32_t asid) {
  std::uint64_t n = 0;
  auto it = map_.lower_bound({asid, 1, 0});
  while (it != map_.end() && it->first.asid == asid) {
    it = erase(it);
    ++n;
  }
  return n;
}

std::uint64_t tlb::flush_asid(std::uint32_t asid) {
  std::uint64_t n = 0;
  auto it = map_.lower_bound({asid, 0, 0});
  while (it != map_.end() && it->first.asid == asid) {
    it = erase(it);
    ++n;
  }
  return n;
}

}  // namespace sd::hw
