// Cost files: cost parameters for simulate and compare (--cost-file), with where each value
// came from. `shootdown host --calibrate FILE` writes one from measurements on the machine it
// runs on; a user can write one by hand. Strict like scenario files: an unknown section,
// parameter or value is an input_error naming file:line and key (exit 2).
//
//   [calibration]            # optional: the machine the values describe (free-form strings)
//   machine = "AMD EPYC 9B14, 2 CPUs"
//   arch = "x86-kvm"
//   kernel = "6.18.44"
//   [cost]                   # parameter = time with a unit (shootdown list costs)
//   mprotect_vma = "24.1us"
//   [machine]                # optional: the machine's own scenario parameters (those every
//   vcpu_preempt_interval = "950us"   # scenario has: shootdown list params), applied
//                            # after a scenario file's [params], before --set
//   [source]                 # optional: per parameter of [cost] or [machine], its evidence
//   mprotect_vma = "host mprotect-none-rw alone: 49.6 us per op measured"
#pragma once
#include <map>
#include <string>
#include <vector>

#include "workload/config.h"

namespace sd::workload {

struct cost_file {
  std::string path;
  std::map<std::string, std::string> calibration;  // [calibration], by key
  std::vector<setting> costs;                      // [cost], in file order, origins file:line
  std::vector<setting> machine;                    // [machine], the same
  std::map<std::string, std::string> sources;      // [source], by parameter
};

// Reads and validates FILE (every [cost] value is a known parameter within its range).
cost_file load_cost_file(const std::string& path);
cost_file parse_cost_file(const std::string& text, const std::string& path);
// The file's text: sections and keys in a fixed order (the same content, the same bytes).
std::string format_cost_file(const cost_file& f);

}  // namespace sd::workload
