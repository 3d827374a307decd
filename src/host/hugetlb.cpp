#include "host/hugetlb.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
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

std::optional<std::string> restore_leftover_hugepages() {
  std::ifstream f(k_hugepages_state);
  std::uint64_t previous = 0, raised = 0;
  if (!f) return std::nullopt;
  const bool parsed = static_cast<bool>(f >> previous >> raised);
  f.close();
  const auto now = read_number(k_nr);
  std::string note;
  if (!parsed || !now) {
    note = std::string("ignored an unreadable ") + k_hugepages_state;
  } else if (*now != raised) {
    note = "an earlier run that was killed had raised vm.nr_hugepages from " +
           std::to_string(previous) + " to " + std::to_string(raised) + "; it is now " +
           std::to_string(*now) + " (changed since), so it was left alone";
  } else if (!write_number(k_nr, previous)) {
    return "an earlier run that was killed left vm.nr_hugepages raised to " +
           std::to_string(raised) + " and restoring " + std::to_string(previous) +
           " failed: echo " + std::to_string(previous) + " > /proc/sys/vm/nr_hugepages";
  } else {
    note = "an earlier run that was killed left vm.nr_hugepages raised to " +
           std::to_string(raised) + ": restored to " + std::to_string(previous);
  }
  std::remove(k_hugepages_state);
  return note;
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
  // Recorded first: if the run is killed, the next one restores it.
  if (!write_number(k_hugepages_state, *now) ||
      !(std::ofstream(k_hugepages_state, std::ios::app) << pages << "\n")) {
    why = std::string("cannot record the raise in ") + k_hugepages_state +
          ", so it was not made (a killed run could not be undone)";
    previous_.reset();
    return false;
  }
  std::cerr << "shootdown: host: vm.nr_hugepages raised from " << *now << " to " << pages
            << " for this run; if it is killed, the next 'shootdown host' restores it, or: echo "
            << *now << " > /proc/sys/vm/nr_hugepages\n";
  if (!write_number(k_nr, pages) || read_number(k_nr).value_or(0) < pages) {
    why = "the kernel could not reserve " + std::to_string(pages) +
          " huge pages (memory too fragmented?)";
    return false;
  }
  return true;
}

hugepage_reservation::~hugepage_reservation() {
  if (!previous_) return;
  if (write_number(k_nr, *previous_))
    std::remove(k_hugepages_state);
  else
    std::cerr << "shootdown: host: restoring vm.nr_hugepages failed: echo " << *previous_
              << " > /proc/sys/vm/nr_hugepages\n";
}

}  // namespace sd::host
