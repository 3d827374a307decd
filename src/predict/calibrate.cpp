#include "predict/calibrate.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

#include "arch/arch.h"
#include "cost/cost_model.h"
#include "host/host_report.h"
#include "predict/twins.h"
#include "workload/units.h"

namespace sd::predict {

namespace {

// What each host scenario pins down: the phase's time per op is dominated by one parameter
// once the others keep their values (presets, or fits made before it in this table).
struct target {
  const char* scenario;
  const char* phase;
  const char* baseline;  // subtracted phase: isolates what `phase` adds ("" none)
  cost::param param;
  const char* what;
  bool flush_ipis;  // times a flush IPI: not on a machine that flushes by hypercall
};

constexpr target k_targets[] = {
    {"mprotect-none-rw", "alone", "", cost::param::mprotect_vma,
     "mprotect's VMA work per call (an op is PROT_NONE then read-write: 2 calls)", false},
    {"mprotect-none-rw", "with-siblings", "alone", cost::param::ipi_delivery,
     "what a flush IPI to a CPU busy in user mode adds to the PROT_NONE call (with-siblings "
     "minus alone)",
     true},
    {"khugepaged-collapse", "alone", "", cost::param::page_copy,
     "copying one of the 512 small pages into the huge page (the rest of a collapse keeps its "
     "costs)",
     false},
    {"munmap-free-tables", "unmap", "unmap-empty", cost::param::page_free,
     "freeing a page, in munmap's zap of each written page and of each page table (unmap minus "
     "unmap-empty: the zap, the tables and the flush; the PTE reads and writes and the flush "
     "keep their costs)",
     false},
    {"munmap-free-tables", "alone", "unmap", cost::param::exception_entry,
     "a page fault's entry and return (alone minus unmap: the mmap and the `touch_pages` write "
     "faults, each also allocating and zeroing its page, which keep their costs)",
     false},
    {"uffd-move", "aligned", "", cost::param::page_move,
     "UFFDIO_MOVE's work per page besides the PTE writes and the flush", false},
};

std::optional<double> measured_ns_per_op(const host::host_result& r, const std::string& phase) {
  for (const auto& p : r.phases) {
    if (p.name != phase || !p.skipped.empty()) continue;
    std::vector<double> v;
    for (const auto& s : p.repeats)
      if (s.ops) v.push_back(s.ns_per_op);
    if (!v.empty()) return host::spread_of(v).median;
  }
  return std::nullopt;
}

// The model's time per op of a phase: CPU 0's program ends later in the twin that runs the
// measured ops by their time (twins.h), per op.
std::optional<double> model_ns_per_op(const std::string& scenario, const std::string& phase,
                                      const machine_guess& m,
                                      const std::vector<workload::setting>& costs,
                                      const workload::param_values& sizes, std::string& why) {
  const auto tw = twin_of(scenario, phase, m.cpus, sizes, why);
  if (!tw) return std::nullopt;
  const auto with = run_twin(tw->with, m, costs);
  const auto without = run_twin(tw->without, m, costs);
  return static_cast<double>(with.program_ended_ns.at(0) - without.program_ended_ns.at(0)) /
         tw->ops;
}

std::string param_name(cost::param p) {
  return std::string(cost::params()[static_cast<std::size_t>(p)].name);
}

std::vector<workload::setting> with_value(std::vector<workload::setting> costs, cost::param p,
                                          sim::sim_time ns) {
  costs.push_back({param_name(p), std::to_string(ns) + "ns", "host --calibrate"});
  return costs;
}

std::string us(double ns) {
  return std::fabs(ns) >= 1000 ? fmt::format("{:.3f} us", ns / 1000) : fmt::format("{:.0f} ns", ns);
}

// The parameter value at which the model's time is within 1% (or 5 ns) of the measured one.
// The model's time grows with a cost, but not smoothly: a longer step can reorder others, and
// on x86-kvm a step can move into or out of a vCPU preemption window, so the time can stay
// flat over a stretch and then jump (munmap-free-tables unmap on x86-kvm: 66.1 us per op
// with page_free 900 ns, 67.0 us at 1000, 82.6 us at 1050). So the value is bracketed first
// (the start, then doubling), then narrowed by secant steps kept strictly inside the
// bracket, bisecting when one would leave it. Where the measured time falls in a jump, the
// value is the bracket end whose time is closer, and the row shows both times.
void fit(fitted_param& f, const std::function<std::optional<double>(sim::sim_time)>& model_at,
         sim::sim_time max) {
  const auto close = [&](double t) {
    return std::fabs(t - f.measured_ns) <= std::max(5.0, 0.01 * std::fabs(f.measured_ns));
  };
  const auto done = [&](sim::sim_time p, double t) {
    f.value = p;
    f.model_fitted_ns = t;
  };
  if (close(f.model_start_ns)) return done(f.start, f.model_start_ns);
  sim::sim_time lo = 0, hi = f.start;  // model(lo) < measured < model(hi)
  double t_lo = 0, t_hi = f.model_start_ns;
  if (f.model_start_ns < f.measured_ns) {
    lo = f.start;
    t_lo = f.model_start_ns;
    hi = lo;
    t_hi = t_lo;
    while (t_hi < f.measured_ns) {
      if (hi == max) {
        f.not_fitted = fmt::format("the fit exceeds the largest accepted value ({})",
                                   workload::format_time_ns(max));
        return;
      }
      const sim::sim_time next = std::min(max, hi > 0 ? 2 * hi : sim::sim_time{1000});
      const double t = *model_at(next);
      if (close(t)) return done(next, t);
      if (t <= t_lo && next >= 8 * std::max<sim::sim_time>(lo, 1)) {
        f.not_fitted = "the model's time for the phase does not grow with the parameter here";
        return;
      }
      if (t < f.measured_ns) {
        lo = next;
        t_lo = t;
      }
      hi = next;
      t_hi = t;
    }
  } else {
    t_lo = *model_at(0);
    if (close(t_lo)) return done(0, t_lo);
    if (t_lo > f.measured_ns) {
      f.not_fitted = fmt::format(
          "the model takes {} per op with the parameter at 0, more than measured: another "
          "cost of the phase is too high for this machine",
          us(t_lo));
      return;
    }
  }
  for (int round = 0; round < 40 && hi - lo > 1; ++round) {
    const double slope = (t_hi - t_lo) / static_cast<double>(hi - lo);
    sim::sim_time p = lo + (hi - lo) / 2;
    if (slope > 0 && round % 2 == 0) {  // every other round bisects: a secant can stall
      const double exact = static_cast<double>(lo) + (f.measured_ns - t_lo) / slope;
      const auto secant = static_cast<sim::sim_time>(std::llround(exact));
      if (secant > lo && secant < hi) p = secant;
    }
    const double t = *model_at(p);
    if (close(t)) return done(p, t);
    if (t < f.measured_ns) {
      lo = p;
      t_lo = t;
    } else {
      hi = p;
      t_hi = t;
    }
  }
  const bool low = f.measured_ns - t_lo <= t_hi - f.measured_ns;
  done(low ? lo : hi, low ? t_lo : t_hi);
  f.jump_other_ns = low ? t_hi : t_lo;
}

}  // namespace

std::string calibrated_scenarios() {
  std::string out;
  for (const auto& t : k_targets)
    if (out.find(t.scenario) == std::string::npos)
      out += (out.empty() ? "" : ", ") + std::string(t.scenario);
  return out;
}

bool calibrates(const std::string& scenario) {
  return std::any_of(std::begin(k_targets), std::end(k_targets),
                     [&](const target& t) { return scenario == t.scenario; });
}

calibration calibrate(const host::host_result& measured, const machine_guess& m,
                      const std::vector<workload::setting>& base,
                      const std::vector<workload::setting>& base_machine) {
  calibration c;
  c.machine = m;
  c.scenario = measured.scenario;
  c.preemption = fit_vcpu_preemption(measured, m, base_machine);
  // The values in effect: the preset, the base's (an earlier calibration), then each fit.
  cost::cost_model now(arch::find_arch(m.arch)->costs);
  for (const auto& s : base) {
    const auto [p, ns] = workload::cost_value(s);
    now.set(p, ns);
  }
  std::vector<workload::setting> fitted = base;
  for (const auto& t : k_targets) {
    if (measured.scenario != t.scenario) continue;
    fitted_param f;
    f.param = param_name(t.param);
    f.scenario = t.scenario;
    f.phase = t.phase;
    f.baseline = t.baseline;
    f.what = t.what;
    f.start = now[t.param];
    c.params.push_back(f);
    fitted_param& r = c.params.back();
    if (t.flush_ipis && m.hypercall_flush) {
      r.not_fitted =
          "this machine's hypervisor flushes remote TLBs by hypercall (no flush IPI to time), "
          "which the model has no backend for";
      continue;
    }
    const auto ph = measured_ns_per_op(measured, t.phase);
    const auto baseline_ns =
        *t.baseline ? measured_ns_per_op(measured, t.baseline) : std::optional<double>(0.0);
    if (!ph || !baseline_ns) {
      r.not_fitted = fmt::format("phase {} was not measured", !ph ? t.phase : t.baseline);
      continue;
    }
    r.measured_ns = *ph - *baseline_ns;
    std::string why;
    auto model_at = [&](sim::sim_time v) -> std::optional<double> {
      const auto costs = with_value(fitted, t.param, v);
      const auto a = model_ns_per_op(t.scenario, t.phase, m, costs, measured.params, why);
      if (!a) return std::nullopt;
      if (!*t.baseline) return a;
      const auto b = model_ns_per_op(t.scenario, t.baseline, m, costs, measured.params, why);
      return b ? std::optional<double>(*a - *b) : std::nullopt;
    };
    const auto start = model_at(r.start);
    if (!start) {
      r.not_fitted = why;
      continue;
    }
    r.model_start_ns = *start;
    fit(r, model_at, cost::max_value(t.param));
    if (r.value) fitted = with_value(fitted, t.param, *r.value);
  }
  return c;
}

void print_calibration(std::ostream& out, const calibration& c, const std::string& path) {
  fmt::print(out,
             "\n calibration: cost parameters fitted so that the model ({}, {} CPUs, {}) "
             "takes per op what this machine took; written to {}\n",
             c.machine.arch, c.machine.cpus, c.machine.patches, path);
  fmt::print(out, " {:<16} {:<28} {:>13} {:>24} {:>24}\n", "parameter", "phase", "measured/op",
             "model/op (value before)", "model/op (fitted value)");
  for (const auto& f : c.params) {
    const std::string phase = f.baseline.empty() ? f.phase : f.phase + " minus " + f.baseline;
    if (!f.value) {
      fmt::print(out, " {:<16} {:<28} not fitted: {}\n", f.param, phase, f.not_fitted);
      continue;
    }
    fmt::print(out, " {:<16} {:<28} {:>13} {:>24} {:>24}\n", f.param, phase, us(f.measured_ns),
               fmt::format("{} ({})", us(f.model_start_ns), workload::format_time_ns(f.start)),
               fmt::format("{} ({})", us(f.model_fitted_ns), workload::format_time_ns(*f.value)));
    fmt::print(out, "   {}\n", f.what);
    if (f.jump_other_ns != 0)
      fmt::print(out,
                 "   the model's time jumps across the measured one here ({} per op at this value, "
                 "{} 1 ns {}): no value is within 1%\n",
                 us(f.model_fitted_ns), us(f.jump_other_ns),
                 f.jump_other_ns > f.model_fitted_ns ? "above" : "below");
  }
  if (c.preemption) print_preemption(out, *c.preemption);
}

nlohmann::ordered_json to_json(const calibration& c) {
  nlohmann::ordered_json params = nlohmann::ordered_json::array();
  for (const auto& f : c.params) {
    nlohmann::ordered_json p;
    p["param"] = f.param;
    p["phase"] = f.phase;
    p["baseline"] =
        f.baseline.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.baseline);
    p["measured_ns_per_op"] = f.measured_ns;
    p["start_ns"] = f.start;
    p["model_start_ns_per_op"] = f.model_start_ns;
    p["value_ns"] = f.value ? nlohmann::ordered_json(*f.value) : nullptr;
    p["model_fitted_ns_per_op"] = f.value ? nlohmann::ordered_json(f.model_fitted_ns) : nullptr;
    if (f.jump_other_ns != 0) p["model_jump_ns_per_op"] = f.jump_other_ns;
    if (!f.value) p["not_fitted"] = f.not_fitted;
    params.push_back(p);
  }
  nlohmann::ordered_json j{{"scenario", c.scenario}, {"params", params}};
  if (c.preemption) j["machine_params"] = nlohmann::ordered_json::array({to_json(*c.preemption)});
  return j;
}

workload::cost_file merge_into(workload::cost_file f, const calibration& c) {
  const std::map<std::string, std::string> machine{
      {"machine", c.machine.cpu_model.empty() ? "unknown (no model name in /proc/cpuinfo)"
                                              : c.machine.cpu_model},
      {"cpus", std::to_string(c.machine.cpus)},
      {"kernel", c.machine.kernel_release},
      {"arch", c.machine.arch},
      {"patches", c.machine.patches}};
  // One file describes one machine: fits from two would not be a model of either.
  for (const auto& [k, v] : machine) {
    const auto it = f.calibration.find(k);
    if (it != f.calibration.end() && it->second != v)
      throw workload::input_error(fmt::format(
          "{}: calibrated for another machine ([calibration] {} = \"{}\", this one: \"{}\"); "
          "write to another file",
          f.path, k, it->second, v));
  }
  f.calibration.insert(machine.begin(), machine.end());
  for (const auto& p : c.params) {
    if (!p.value) continue;
    const std::string text = std::to_string(*p.value) + "ns";
    auto it = std::find_if(f.costs.begin(), f.costs.end(),
                           [&](const workload::setting& s) { return s.key == p.param; });
    if (it == f.costs.end())
      f.costs.push_back({p.param, text, f.path});
    else
      it->text = text;
    f.sources[p.param] = fmt::format(
        "shootdown host --calibrate: {} {}{}: {} per op measured; the model gives {} per op at "
        "this value ({} before)",
        c.scenario, p.phase, p.baseline.empty() ? "" : " minus " + p.baseline, us(p.measured_ns),
        us(p.model_fitted_ns), workload::format_time_ns(p.start));
  }
  if (c.preemption) merge_preemption(f, *c.preemption);
  return f;
}

}  // namespace sd::predict
