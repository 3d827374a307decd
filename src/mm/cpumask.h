// A set of CPU ids, iterated in ascending order (deterministic IPI order).
#pragma once
#include <bit>
#include <cstdint>
#include <vector>

namespace sd::mm {

class cpumask {
 public:
  explicit cpumask(std::size_t ncpus = 0) : words_((ncpus + 63) / 64, 0) {}
  void set(unsigned cpu) { words_[cpu / 64] |= bit(cpu); }
  void clear(unsigned cpu) { words_[cpu / 64] &= ~bit(cpu); }
  bool test(unsigned cpu) const { return (words_[cpu / 64] & bit(cpu)) != 0; }
  std::size_t weight() const {
    std::size_t n = 0;
    for (auto w : words_) n += static_cast<std::size_t>(std::popcount(w));
    return n;
  }
  // cpumask_any_but(): is any CPU other than `cpu` set?
  bool any_but(unsigned cpu) const {
    for (std::size_t i = 0; i < words_.size(); ++i) {
      std::uint64_t w = words_[i];
      if (i == cpu / 64) w &= ~bit(cpu);
      if (w) return true;
    }
    return false;
  }
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < words_.size(); ++i)
      for (std::uint64_t w = words_[i]; w; w &= w - 1)
        f(static_cast<unsigned>(i * 64 + static_cast<unsigned>(std::countr_zero(w))));
  }

 private:
  static std::uint64_t bit(unsigned cpu) { return std::uint64_t{1} << (cpu % 64); }
  std::vector<std::uint64_t> words_;
};

}  // namespace sd::mm
