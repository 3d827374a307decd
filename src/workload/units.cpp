#include "workload/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace sd::workload {

namespace {

// Splits "1.5us" into 1.5 and "us"; the number must be finite and non-negative.
std::pair<double, std::string_view> split_number(std::string_view text, const char* what) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0)
    throw std::invalid_argument(std::string("expected ") + what + ", got '" + std::string(text) +
                                "'");
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, v);
  if (ec != std::errc() || p != text.data() + i || !std::isfinite(v))
    throw std::invalid_argument(std::string("expected ") + what + ", got '" + std::string(text) +
                                "'");
  return {v, text.substr(i)};
}

template <std::size_t N>
std::int64_t scaled(std::string_view text, const char* what,
                    const std::array<std::pair<std::string_view, double>, N>& units) {
  auto [v, unit] = split_number(text, what);
  for (const auto& [name, factor] : units)
    if (unit == name) {
      const double r = v * factor;
      if (r > 9.0e18 || r != std::floor(r))
        throw std::invalid_argument(std::string("'") + std::string(text) +
                                    "' is not a whole number of the base unit");
      return static_cast<std::int64_t>(r);
    }
  throw std::invalid_argument(std::string("expected ") + what + ", got '" + std::string(text) +
                              "'");
}

}  // namespace

std::int64_t parse_size(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, double>, 5> k{{{"", 1.0},
                                                                         {"KiB", 1024.0},
                                                                         {"MiB", 1048576.0},
                                                                         {"GiB", 1073741824.0},
                                                                         {"TiB", 1099511627776.0}}};
  return scaled(text, "a size such as 4096, 64KiB, 2MiB, 1GiB or 1TiB", k);
}

std::int64_t parse_time_ns(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, double>, 4> k{
      {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}};
  return scaled(text, "a time such as 300ns, 1.5us, 3ms or 1s", k);
}

std::int64_t parse_count(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0)
    throw std::invalid_argument("expected a non-negative whole number, got '" + std::string(text) +
                                "'");
  return v;
}

bool parse_flag(std::string_view text) {
  if (text == "true" || text == "on" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "off" || text == "0" || text == "no") return false;
  throw std::invalid_argument("expected on/off (or true/false), got '" + std::string(text) + "'");
}

std::string format_size(std::int64_t b) {
  static constexpr std::array<std::pair<const char*, std::int64_t>, 4> k{
      {{"TiB", std::int64_t{1} << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}};
  for (const auto& [name, f] : k)
    if (b >= f && b % f == 0) return std::to_string(b / f) + name;
  return std::to_string(b);
}

std::string format_time_ns(std::int64_t ns) {
  if (ns >= 1'000'000'000 && ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns >= 1'000'000 && ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns >= 1'000 && ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

}  // namespace sd::workload
