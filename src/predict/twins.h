// The model's twin of each `shootdown host` phase: the same workload as a program
// (src/program), with the same sizes and thread placement, so the model predicts what the
// phase measures.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "predict/machine.h"
#include "workload/config.h"
#include "workload/params.h"
#include "workload/run.h"

namespace sd::predict {

// Two programs that differ by exactly `ops` of the phase's measured operations: the
// difference of their counts, divided by `ops`, is the model's count per operation, with
// setup, warm-up and whatever the host does outside its measuring window cancelled out.
struct twin {
  std::string with;
  std::string without;
  unsigned ops = 0;
  std::string differs;  // how the twin differs from the host phase ("" if it does not)
};

// nullopt when the phase has no twin; `why` then says why. `sizes`: the host scenario's
// parameters as the phase ran them (host/host_params.h; a missing one is its default).
std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            const workload::param_values& sizes, std::string& why);

// Runs a twin program (timed) on the model of machine m, with cost parameters `costs` over
// the arch's preset.
workload::run_result run_twin(const std::string& text, const machine_guess& m,
                              const std::vector<workload::setting>& costs = {});

}  // namespace sd::predict
