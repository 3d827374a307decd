#include "cli/flags.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <vector>

namespace sd::cli {

CLI::Validator whole_number(std::uint64_t lo, std::uint64_t hi) {
  // An empty description keeps the help's type name (N) free of CLI11's range jargon.
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        std::uint64_t v = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || p != s.data() + s.size() || ec == std::errc::invalid_argument)
          return fmt::format("'{}' is not a whole number", s);
        if (ec == std::errc::result_out_of_range || v < lo || v > hi)
          return fmt::format("{} is out of range: {} to {}", s, lo, hi);
        return "";
      },
      "");
}

CLI::Validator decimal_number(double lo, double hi, const char* unit) {
  return CLI::Validator(
      [lo, hi, unit](std::string& s) -> std::string {
        double v = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || p != s.data() + s.size() || ec != std::errc() || !std::isfinite(v))
          return fmt::format("'{}' is not a number", s);
        if (v < lo || v > hi)
          return fmt::format("{} is out of range: {} to {} {}", s, lo, hi, unit);
        return "";
      },
      "");
}

CLI::Validator one_of(std::initializer_list<const char*> words) {
  std::vector<std::string> w(words.begin(), words.end());
  return CLI::Validator(
      [w](std::string& s) -> std::string {
        for (const auto& x : w)
          if (s == x) return "";
        return fmt::format("'{}' is not one of: {}", s, fmt::join(w, ", "));
      },
      "");
}

}  // namespace sd::cli
