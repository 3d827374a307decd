// Which CPUs' TLBs hold entries of each ASID tag. A broadcast invalidation (arm64 TLBI ... IS,
// x86 INVLPGB) reaches every CPU, but only those holding entries of its tag have anything to
// drop: visiting just them keeps a broadcast O(holders) instead of O(CPUs) (a snoop filter
// does the same in hardware). hw::tlb reports every entry it adds and removes.
#pragma once
#include <bit>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace sd::mm {

class asid_directory {
 public:
  void added(std::uint32_t cpu, std::uint32_t asid) {
    tag& t = find(asid);
    if (cpu >= t.count.size()) {
      t.count.resize(cpu + 1, 0);
      t.bits.resize(cpu / 64 + 1, 0);
    }
    if (t.count[cpu]++ == 0) t.bits[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
    if (cpu >= entries_.size()) {
      entries_.resize(cpu + 1, 0);
      nonempty_.resize(cpu / 64 + 1, 0);
    }
    if (entries_[cpu]++ == 0) nonempty_[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
  }
  void removed(std::uint32_t cpu, std::uint32_t asid) {
    tag& t = find(asid);
    if (--t.count[cpu] == 0) t.bits[cpu / 64] &= ~(std::uint64_t{1} << (cpu % 64));
    if (--entries_[cpu] == 0) nonempty_[cpu / 64] &= ~(std::uint64_t{1} << (cpu % 64));
  }
  // Bit per CPU: its TLB holds an entry of any tag.
  const std::vector<std::uint64_t>& nonempty() const { return nonempty_; }
  // Calls f(cpu) for each CPU holding an entry of the tag, in increasing CPU order. f may
  // remove entries (of any CPU already visited or the one it is given).
  template <typename F>
  void for_each_cpu(std::uint32_t asid, F&& f) {
    const tag& t = find(asid);
    for (std::size_t w = 0; w < t.bits.size(); ++w)
      for (std::uint64_t word = t.bits[w]; word != 0; word &= word - 1)
        f(static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(std::countr_zero(word))));
  }

 private:
  struct tag {
    std::vector<std::uint32_t> count;  // per CPU: entries of the tag in its TLB
    std::vector<std::uint64_t> bits;   // per CPU: count > 0
  };
  tag& find(std::uint32_t asid) {
    if (last_ && last_asid_ == asid) return *last_;
    last_asid_ = asid;
    last_ = &tags_[asid];  // unordered_map values stay where they are
    return *last_;
  }
  std::unordered_map<std::uint32_t, tag> tags_;
  std::vector<std::uint32_t> entries_;   // per CPU: entries of every tag
  std::vector<std::uint64_t> nonempty_;  // per CPU: entries_ > 0
  std::uint32_t last_asid_ = 0;
  tag* last_ = nullptr;
};

}  // namespace sd::mm
