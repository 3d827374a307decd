#include "hw/tlb.h"

namespace sd::hw {

void tlb::insert(const key& k, tlb_entry e) {
  mem_->log.tlb(cpu_);
  auto [it, fresh] = map_.try_emplace(k, e);
  if (fresh) {
    mem_->asids.added(cpu_, k.asid);
  } else {
    if (it->second.pfn == e.pfn && it->second.generation == e.generation) {
      e.holder = it->second.holder;
      it->second = e;
      return;
    }
    mem_->remove_holder(it->second.pfn, it->second.holder);
    it->second = e;
  }
  mem_->add_holder(e.pfn, {cpu_, k.asid, &it->second.holder});
}

tlb::map_t::iterator tlb::erase(map_t::iterator it) {
  mem_->remove_holder(it->second.pfn, it->second.holder);
  mem_->asids.removed(cpu_, it->first.asid);
  return map_.erase(it);
}

std::uint64_t tlb::erase_keys(const key& first, const key& last) {
  std::uint64_t n = 0;
  for (auto it = map_.lower_bound(first); it != map_.end() && it->first <= last; ++n)
    it = erase(it);
  return n;
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
  return erase_keys({asid, 1, 0}, {asid, 0xff, ~std::uint64_t{0}});
}

std::uint64_t tlb::flush_asid(std::uint32_t asid) {
  mem_->log.tlb(cpu_);
  return erase_keys({asid, 0, 0}, {asid, 0xff, ~std::uint64_t{0}});
}

std::uint64_t tlb::flush_all() {
  mem_->log.tlb(cpu_);
  return erase_keys({0, 0, 0}, {~std::uint32_t{0}, 0xff, ~std::uint64_t{0}});
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
  for (const auto& [k, e] : map_)
    if (key_covers(k, va)) return true;
  return false;
}

std::uint64_t tlb::evict(va_t va) {
  mem_->log.tlb(cpu_);
  std::uint64_t n = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    if (key_covers(it->first, va)) {
      it = erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

}  // namespace sd::hw
