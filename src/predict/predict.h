// `shootdown host --predict`: the model's counts for each phase host measured, on a model
// of this machine (predict/machine.h), side by side with the measured ones.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "host/host_run.h"
#include "predict/machine.h"

namespace sd::predict {

struct count_row {
  std::string name;                // "flushes_by_reason.task_switch", "tlb_interrupts", ...
  std::optional<double> measured;  // per op (median over repeats); none: not measurable here
  double model = 0;                // per op
  // The other end of the model's range, where the twin leaves the workload open
  // (predict/twins.h twin::with_bound); equal then means within the range.
  std::optional<double> model_bound;
  std::optional<bool> equal;  // within the tolerance; none when not measured
  std::string explained;      // why a difference is expected ("": not explained)
};

struct phase_prediction {
  std::string phase;
  std::string no_twin;  // why there is no model twin ("" if there is one)
  std::string differs;  // how the twin differs from the phase
  unsigned ops = 0;     // measured operations the two twin programs differ by
  // Twin pairs the model's counts are the median of: one per repeat where the twin replays
  // what the host recorded in it (predict/twins.h replays_host_order), else 1; `ops` is then
  // their sum.
  unsigned twins = 1;
  std::vector<std::string> notes;  // how to read a difference
  std::vector<count_row> rows;
};

struct prediction {
  machine_guess machine;
  std::vector<phase_prediction> phases;
};

// Measured and model per-op values are equal within this (stated in the output).
inline constexpr double k_abs_tolerance = 0.05;
inline constexpr double k_rel_tolerance = 0.02;

// The counts a flush IPI to a running thread's CPU adds (arch/x86/mm/tlb.c
// native_flush_tlb_multi, kernel/smp.c): queued, taken, and flushed there.
bool ipi_delivered(const std::string& name);

prediction predict(const host::host_result& measured, const machine_guess& m);

void print_prediction(std::ostream& out, const prediction& p);
// Adds "predict": {COUNT: {"measured", "model", "equal"}} to each phase of host's JSON,
// and "model" (arch, cpus, patches, why) at the top.
void add_to_json(nlohmann::ordered_json& host_json, const prediction& p);

}  // namespace sd::predict
