// Huge-page reservation for host scenarios: read and, as root, raise vm.nr_hugepages for a
// run, restoring the previous value afterwards.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace sd::host {

std::optional<std::uint64_t> hugepages_free();  // HugePages_Free of /proc/meminfo

// A raise of vm.nr_hugepages is recorded in k_hugepages_state until it is undone, so a run
// killed by SIGKILL (no destructor runs) can be undone by the next one.
inline constexpr const char* k_hugepages_state = "/run/shootdown-nr_hugepages";

// Undoes a raise an earlier, killed run left behind, if vm.nr_hugepages still has the value
// it set; returns what it did (a note for the report), or nothing when there was none.
std::optional<std::string> restore_leftover_hugepages();

class hugepage_reservation {
 public:
  // Ensures at least `pages` huge pages are configured. `why` says what failed.
  bool reserve(std::uint64_t pages, std::string& why);
  ~hugepage_reservation();  // restores the previous vm.nr_hugepages

 private:
  std::optional<std::uint64_t> previous_;
};

}  // namespace sd::host
