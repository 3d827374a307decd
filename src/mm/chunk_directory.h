// Which CPUs' TLBs hold entries in each (tag, level, chunk of 64 consecutive entries). A
// range invalidation broadcast to every CPU (arm64 TLBI ... IS, x86 INVLPGB), and the
// monitor's look for stale entries after a flush, need only the CPUs holding something in
// the range: looking them up chunk by chunk keeps a flush of a few MiB O(chunks x words)
// instead of O(CPUs holding the tag), which at 4096 CPUs was most of a run (issue 12).
// hw::tlb reports each chunk it starts or stops holding.
#pragma once
#include <bit>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace sd::mm {

class chunk_directory {
 public:
  // Lookups over more chunks than this give up (the caller visits every holder of the tag).
  static constexpr std::uint64_t max_chunks = 256;
  static constexpr std::uint32_t any_tag = ~std::uint32_t{0};

  void added(std::uint32_t cpu, std::uint32_t asid, unsigned lvl, std::uint64_t chunk) {
    cpus& c = find(chunks_[pack(lvl, chunk)], asid);
    if (cpu / 64 >= c.words.size()) c.words.resize(cpu / 64 + 1, 0);
    c.words[cpu / 64] |= bit(cpu);
  }
  // An emptied record stays (with no bit set): a chunk is usually held again soon, and
  // erasing it made every full flush and refill allocate.
  void removed(std::uint32_t cpu, std::uint32_t asid, unsigned lvl, std::uint64_t chunk) {
    find(chunks_.at(pack(lvl, chunk)), asid).words[cpu / 64] &= ~bit(cpu);
  }
  // ORs into `mask` (a CPU bitmap) the CPUs holding an entry of the tag (any_tag: of any
  // tag) and level in the chunks [first, last]. False, with `mask` unchanged, when that is
  // more than max_chunks.
  bool gather(std::uint32_t asid, unsigned lvl, std::uint64_t first, std::uint64_t last,
              std::vector<std::uint64_t>& mask) const {
    if (last < first) return true;
    if (last - first >= max_chunks) return false;
    for (std::uint64_t ch = first;; ++ch) {
      if (const auto it = chunks_.find(pack(lvl, ch)); it != chunks_.end())
        for (const cpus& c : it->second) {
          if (asid != any_tag && c.asid != asid) continue;
          if (mask.size() < c.words.size()) mask.resize(c.words.size(), 0);
          for (std::size_t i = 0; i < c.words.size(); ++i) mask[i] |= c.words[i];
        }
      if (ch == last) break;
    }
    return true;
  }
  // Calls f(cpu) for each CPU set in `mask`, in increasing order.
  template <typename F>
  static void for_each(const std::vector<std::uint64_t>& mask, F&& f) {
    for (std::size_t w = 0; w < mask.size(); ++w)
      for (std::uint64_t word = mask[w]; word != 0; word &= word - 1)
        f(static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(std::countr_zero(word))));
  }

 private:
  // Per chunk, one record per tag seen there: one on arm64 (the mm's ASID), a few on x86
  // (the per-CPU dynamic ASID slots, a global ASID).
  struct cpus {
    std::uint32_t asid = 0;
    std::vector<std::uint64_t> words;  // bit per CPU
  };
  static std::uint64_t bit(std::uint32_t cpu) { return std::uint64_t{1} << (cpu % 64); }
  static cpus& find(std::vector<cpus>& tags, std::uint32_t asid) {
    for (cpus& c : tags)
      if (c.asid == asid) return c;
    tags.push_back({asid, {}});
    return tags.back();
  }
  // A leaf chunk index is below 2^29 (47-bit user addresses), a walk-cache one smaller.
  static std::uint64_t pack(unsigned lvl, std::uint64_t chunk) {
    return std::uint64_t{lvl} << 32 | chunk;
  }
  std::unordered_map<std::uint64_t, std::vector<cpus>> chunks_;
};

}  // namespace sd::mm
