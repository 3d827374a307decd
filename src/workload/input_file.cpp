#include "workload/input_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "workload/config.h"

namespace sd::workload {

std::optional<std::string> read_input_file(const std::string& path, const char* kind) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return std::nullopt;
  if (!std::filesystem::is_regular_file(st))
    throw input_error(path + ": not a regular file (a " + std::string(kind) +
                      " file is TOML text)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path + ": cannot read: " + std::strerror(errno));
  // Read at most one byte past the limit: a file growing after the check is caught too.
  std::string text(k_max_input_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw input_error(path + ": cannot read");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_input_bytes)
    throw input_error(path + ": larger than 1 MiB; a " + std::string(kind) +
                      " file is a few dozen lines");
  return text;
}

}  // namespace sd::workload
