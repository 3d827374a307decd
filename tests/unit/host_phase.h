// A host phase result for tests that feed host --predict by hand.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "host/host_run.h"

namespace sd::test {

// Member by member, not a braced aggregate: GCC 12 warns, falsely, that the temporary's
// std::map member (background.csd_queued_all) may be used uninitialized when copied.
inline host::phase_result host_phase(std::string name, std::vector<host::phase_sample> repeats,
                                     std::string csd_queued_missing = "") {
  host::phase_result p;
  p.name = std::move(name);
  p.repeats = std::move(repeats);
  p.csd_queued_missing = std::move(csd_queued_missing);
  return p;
}

}  // namespace sd::test
