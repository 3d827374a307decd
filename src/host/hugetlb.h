// Huge-page reservation for host scenarios: read and, as root, raise vm.nr_hugepages for a
// run, restoring the previous value afterwards.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace sd::host {

std::optional<std::uint64_t> hugepages_free();  // HugePages_Free of /proc/meminfo

class hugepage_reservation {
 public:
  // Ensures at least `pages` huge pages are configured. `why` says what failed.
  bool reserve(std::uint64_t pages, std::string& why);
  ~hugepage_reservation();  // restores the previous vm.nr_hugepages

 private:
  std::optional<std::uint64_t> previous_;
};

}  // namespace sd::host
