// The host scenarios' workloads: what each phase runs natively on this machine, measured
// with host/measure.h. Linux only.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/host_run.h"
#include "host/measure.h"

namespace sd::host {

using phase_fn = std::function<phase_sample(const context&)>;
struct phase_def {
  const char* name;
  const char* what;
  bool needs_two_cpus;
  phase_fn run;
};

struct scenario_def {
  host_scenario_info info;
  std::vector<phase_def> phases;
};

// Every host scenario with its phases, in `shootdown host --help` order.
const std::vector<scenario_def>& scenarios();

void pin_to(unsigned cpu);
// A free 1 GiB-aligned range of `gib` GiB whose neighbours end exactly at its bounds (phases
// map their regions there); checked at each call and reserved anew if something took it.
std::uintptr_t free_gib_hole(std::size_t gib = 1);
// Before the phases: a thread of this process runs once on every other CPU and exits, so
// each of those CPUs idles holding the mm lazily, with its bit in mm_cpumask (x86 keeps it
// until a flush trims it). Without this, which CPUs hold the mm depends on where the
// scheduler happened to run the process before it pinned itself, and so does whether CPU
// 0's flushes call flush_tlb_multi (predict/twins.cpp gives the model the same start).
void visit_every_cpu(unsigned ncpus);

// What the workloads learned on the way, as notes for the report (hugetlb PMD sharing seen
// in the children's faults, MADV_COLLAPSE failures).
std::vector<std::string> workload_notes();

}  // namespace sd::host
