// Text-table helpers shared by the model's reports and `host`'s (header-only: the host
// library does not link the model). Durations carry their unit; columns are aligned to
// their widest cell and lines end without padding.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace sd::report {

// A duration for people: "850 ns", "39.685 us", "3.000 ms", "1.200 s".
inline std::string human_time(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.3f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.3f} ms", ns / 1e6);
  return fmt::format("{:.3f} s", ns / 1e9);
}
inline std::string human_time(std::int64_t ns) {
  return human_time(static_cast<double>(ns));
}

// Prints rows (the first is the header) with the first column left-aligned, the middle ones
// right-aligned (numbers), each as wide as its widest cell, and the last one as free text.
inline void print_aligned(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (i + 1 == r.size())
        line += (i == 0 ? " " : "  ") + r[i];  // free text: left-aligned, not padded
      else if (i == 0)
        line += fmt::format(" {:<{}}", r[i], width[i]);
      else
        line += fmt::format("  {:>{}}", r[i], width[i]);
    }
    out << line << "\n";
  }
}

}  // namespace sd::report
