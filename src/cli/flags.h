// Command-line values checked in plain words. CLI11's own validators print jargon
// ("UINT:INT in [1 - 4096]", "Value abc not in range") and its unsigned conversion wraps
// "-1" to 2^64-1; these say what was wrong with the value and keep help texts readable.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace sd::cli {

// A whole number from lo to hi: no sign, no fraction, no trailing characters.
CLI::Validator whole_number(std::uint64_t lo, std::uint64_t hi);
// A decimal number from lo to hi (in `unit`, for the message).
CLI::Validator decimal_number(double lo, double hi, const char* unit);
// One of the given words.
CLI::Validator one_of(std::initializer_list<const char*> words);

}  // namespace sd::cli
