// `shootdown host --calibrate FILE`: the cost parameters a host scenario pins down, fitted so
// that the model's time per operation on the phase's twin (predict/twins.h) equals the time
// host measured, and written as a cost file (workload/cost_file.h) that simulate and compare
// load with --cost-file.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "host/host_run.h"
#include "predict/calibrate_vcpu.h"
#include "predict/machine.h"
#include "sim/time.h"
#include "workload/cost_file.h"

namespace sd::predict {

struct fitted_param {
  std::string param;
  std::string scenario, phase;
  std::string baseline;                // a phase whose time is subtracted from `phase`'s ("": none)
  std::string what;                    // what the parameter stands for in the phase
  double measured_ns = 0;              // per op (median over repeats), minus the baseline's
  sim::sim_time start = 0;             // the value before the fit (the preset, or an earlier fit)
  double model_start_ns = 0;           // the model's per-op time at `start`
  std::optional<sim::sim_time> value;  // fitted
  double model_fitted_ns = 0;          // the model's per-op time at `value`
  // The measured time falls in a jump of the model's: the model gives `model_fitted_ns` at
  // `value` and `jump_other_ns` at the value 1 ns to the other side (0: within 1%).
  double jump_other_ns = 0;
  std::string not_fitted;  // why there is no value
};

struct calibration {
  machine_guess machine;
  std::string scenario;
  std::vector<fitted_param> params;
  std::optional<fitted_preemption> preemption;  // x86-kvm: the vCPU preemption rate
};

// The scenarios host --calibrate can fit parameters from, for messages ("a, b, c").
std::string calibrated_scenarios();
bool calibrates(const std::string& scenario);

// Fits every parameter `measured.scenario` pins down, on the model of machine m with the
// cost values `base` (an earlier calibration's file, validated), each over the values
// fitted before it (in the order of the table in calibrate.cpp); and on x86-kvm the vCPU
// preemption rate over the machine parameters `base_machine` (the file's [machine]).
calibration calibrate(const host::host_result& measured, const machine_guess& m,
                      const std::vector<workload::setting>& base = {},
                      const std::vector<workload::setting>& base_machine = {});

void print_calibration(std::ostream& out, const calibration& c, const std::string& path);
nlohmann::ordered_json to_json(const calibration& c);
// `existing` (a cost file read before, or empty) with the fitted values replacing its own;
// each fitted value gets a [source] line and the file's [calibration] names this machine.
workload::cost_file merge_into(workload::cost_file existing, const calibration& c);

}  // namespace sd::predict
