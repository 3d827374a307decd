// The model's twin of each `shootdown host` phase: the same workload as a program
// (src/program), with the same sizes and thread placement, so the model predicts what the
// phase measures.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "host/host_run.h"
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
  // Where the host's record leaves the workload open (burst: when exactly each exit
  // unshares), `with` is one end and this `with` program the other: the model's count per op
  // is the range between them. "" when the twin is exact.
  std::string with_bound;
};

// nullopt when the phase has no twin; `why` then says why. `sizes`: the host scenario's
// parameters as the phase ran them (host/host_params.h; a missing one is its default).
// `sample`: one repeat of the phase, for a phase whose twin replays what the host recorded in
// it (replays_host_order).
std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            const workload::param_values& sizes, std::string& why,
                            const host::phase_sample* sample = nullptr);

// Whether the phase's twin is built per repeat from the host's record of it (hugetlb-fork-exit
// burst: the order of its children's forks, first touches and exits).
bool replays_host_order(const std::string& scenario, const std::string& phase);

// Runs a twin program (timed) on the model of machine m, with cost parameters `costs` over
// the arch's preset.
workload::run_result run_twin(const std::string& text, const machine_guess& m,
                              const std::vector<workload::setting>& costs = {});

}  // namespace sd::predict
