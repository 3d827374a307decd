// Values with units in scenario files and on the command line: sizes ("4KiB", "2MiB",
// "1GiB", plain bytes) and times ("300ns", "1.5us", "3ms", "1s"). Anything else is an
// error naming what was expected.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sd::workload {

// Throw std::invalid_argument with a message that says what was expected.
std::int64_t parse_size(std::string_view text);
std::int64_t parse_time_ns(std::string_view text);
std::int64_t parse_count(std::string_view text);
bool parse_flag(std::string_view text);

std::string format_size(std::int64_t bytes);
std::string format_time_ns(std::int64_t ns);

}  // namespace sd::workload
