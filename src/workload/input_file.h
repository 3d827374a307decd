// Reading a scenario or program file the user names: only regular files (not /dev/zero, a
// FIFO or a directory) and at most 1 MiB (a scenario or program is a few dozen lines), so
// a wrong path fails at once instead of filling memory.
#pragma once
#include <optional>
#include <string>

namespace sd::workload {

inline constexpr std::size_t k_max_input_bytes = std::size_t{1} << 20;

// The file's text, or nullopt if no file has that name; throws input_error naming the path
// when it is not a regular file, is too large or cannot be read. `kind` says what the file
// should be ("scenario", "program") in the messages.
std::optional<std::string> read_input_file(const std::string& path, const char* kind);

}  // namespace sd::workload
