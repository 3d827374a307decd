#include "host/hugetlb.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace sd::host {

namespace {
constexpr const char* k_nr = "/proc/sys/vm/nr_hugepages";

std::optional<std::uint64_t> read_number(const char* path) {
  std::ifstream f(path);
  std::uint64_t v = 0;
  if (f >> v) return v;
  return std::nullopt;
}

bool write_number(const char* path, std::uint64_t v) {
  std::ofstream f(path);
  f << v << "\n";
  f.flush();
  return static_cast<bool>(f);
}
}  // namespace

std::optional<std::uint64_t> hugepages_free() {
  std::ifstream f("/proc/meminfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("HugePages_Free:", 0) == 0) {
      std::istringstream l(line.substr(15));
      std::uint64_t v = 0;
      if (l >> v) return v;
    }
  return std::nullopt;
}

bool hugepage_reservation::reserve(std::uint64_t pages, std::string& why) {
  const auto now = read_number(k_nr);
  if (!now) {
    why = "cannot read /proc/sys/vm/nr_hugepages (no hugetlbfs support?)";
    return false;
  }
  if (*now >= pages) return true;
  if (geteuid() != 0) {
    why = "--reserve-hugepages needs root (or run: echo " + std::to_string(pages) +
          " > /proc/sys/vm/nr_hugepages)";
    return false;
  }
  previous_ = *now;
  if (!write_number(k_nr, pages) || read_number(k_nr).value_or(0) < pages) {
    why = "the kernel could not reserve " + std::to_string(pages) +
          " huge pages (memory too fragmented?)";
    return false;
  }
  return true;
}

hugepage_reservation::~hugepage_reservation() {
  if (previous_) write_number(k_nr, *previous_);
}

}  // namespace sd::host
