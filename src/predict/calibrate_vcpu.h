// `shootdown host --calibrate` on a KVM guest: the vCPU preemption rate (the machine
// parameter vcpu_preempt_interval) from how many flush IPIs KVM's PV flush skipped because
// the target vCPU was preempted (issue 9 item 14). Written to the cost file's [machine].
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "host/host_run.h"
#include "predict/machine.h"
#include "sim/time.h"
#include "workload/cost_file.h"

namespace sd::predict {

struct fitted_preemption {
  std::string scenario, phase;
  std::uint64_t targets = 0;           // flush IPI targets: remote flushes x the other CPUs
  std::uint64_t skipped = 0;           // of those, not queued (PV flush: the vCPU was preempted)
  sim::sim_time preempt_time = 0;      // vcpu_preempt_time the interval is fitted for
  sim::sim_time start = 0;             // vcpu_preempt_interval before the fit
  std::optional<sim::sim_time> value;  // fitted (0: never preempted)
  double model_share = 0;              // the model's skipped share at `value`
  std::string note;                    // about the value (e.g. none skipped)
  std::string not_fitted;              // why there is no value
};

// The fit where `measured` pins it (mprotect-none-rw with-siblings on x86-kvm: every toggle
// flushes the siblings, busy in user mode), with the machine parameters `base` (a cost
// file's [machine]); nullopt where there is nothing to fit (no vCPUs, another scenario).
std::optional<fitted_preemption> fit_vcpu_preemption(const host::host_result& measured,
                                                     const machine_guess& m,
                                                     const std::vector<workload::setting>& base);

void print_preemption(std::ostream& out, const fitted_preemption& f);
nlohmann::ordered_json to_json(const fitted_preemption& f);
// The fitted interval, and the preemption length it was fitted for, into f's [machine].
void merge_preemption(workload::cost_file& f, const fitted_preemption& p);

}  // namespace sd::predict
