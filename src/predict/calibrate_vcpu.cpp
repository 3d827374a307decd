#include "predict/calibrate_vcpu.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/run.h"
#include "workload/units.h"

namespace sd::predict {

namespace {

constexpr const char* k_interval = "vcpu_preempt_interval";
constexpr const char* k_time = "vcpu_preempt_time";
// builtin.cpp validate_common: an interval is 0 (never) or at least 10us.
constexpr sim::sim_time k_min_interval = 10'000;
// Flushes of each model run: about 4,400 skips at the default rate on 2 CPUs, the share
// known to about 1.5% of itself.
constexpr std::int64_t k_model_iterations = 100'000;

const workload::param_decl& decl(const char* name) {
  return *workload::find_param(workload::common_params(), name);
}

// The value in effect: the default, or the cost file's [machine].
sim::sim_time current(const std::vector<workload::setting>& base, const char* name) {
  sim::sim_time v = decl(name).default_for(0);
  for (const auto& s : base)
    if (s.key == name) v = workload::parse_param(decl(name), s.text);
  return v;
}

template <typename Map>
std::uint64_t keyed(const Map& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// The share of flush IPI targets the model's PV flush skips (kvm_preempted_skip over
// remote_send_ipi times the siblings) in the built-in mprotect-none-rw scenario with a
// sibling busy in user mode on every other CPU, as host's with-siblings phase runs it.
double model_skip_share(const machine_guess& m, sim::sim_time preempt_time,
                        sim::sim_time interval) {
  workload::scenario_spec spec = workload::load_scenario("mprotect-none-rw");
  spec.arch = "x86-kvm";
  spec.cpus = m.cpus;
  const std::string origin = "host --calibrate";
  spec.patches = workload::setting{"patches", m.patches, origin};
  spec.params = {{"siblings", std::to_string(m.cpus - 1), origin},
                 {"iterations", std::to_string(k_model_iterations), origin},
                 {k_interval, std::to_string(interval) + "ns", origin},
                 {k_time, std::to_string(preempt_time) + "ns", origin}};
  const kern::metrics s = workload::simulate(workload::resolve(spec)).stats;
  const auto skipped = keyed(s.flushes_by_reason, "kvm_preempted_skip");
  const auto sends = keyed(s.flushes_by_reason, "remote_send_ipi");
  return sends ? static_cast<double>(skipped) / static_cast<double>(sends * (m.cpus - 1)) : 0;
}

}  // namespace

std::optional<fitted_preemption> fit_vcpu_preemption(const host::host_result& measured,
                                                     const machine_guess& m,
                                                     const std::vector<workload::setting>& base) {
  if (m.arch != "x86-kvm" || measured.scenario != "mprotect-none-rw") return std::nullopt;
  fitted_preemption f;
  f.scenario = measured.scenario;
  f.phase = "with-siblings";
  f.preempt_time = current(base, k_time);
  f.start = current(base, k_interval);
  if (m.hypercall_flush) {
    f.not_fitted =
        "this machine's hypervisor flushes remote TLBs by hypercall: no flush IPI is skipped "
        "for a preempted vCPU, so the rate cannot be read from them";
    return f;
  }
  if (!measured.have_tracepoint || !measured.have_csd_tracepoint) {
    f.not_fitted = "needs tlb:tlb_flush and csd:csd_queue_cpu (not both readable here)";
    return f;
  }
  if (m.cpus < 2) {
    f.not_fitted = "needs 2 CPUs";
    return f;
  }
  // arch/x86/kernel/kvm.c kvm_flush_tlb_multi drops each target whose steal_time says
  // KVM_VCPU_PREEMPTED (marking it KVM_VCPU_FLUSH_TLB) and hands the rest to
  // native_flush_tlb_multi, which traces TLB_REMOTE_SEND_IPI once per call and queues
  // flush_tlb_func (csd:csd_queue_cpu) on each remaining target. With a sibling busy in user
  // mode on every other CPU, each such call targets all of them.
  std::uint64_t sends = 0, queued = 0;
  for (const auto& ph : measured.phases) {
    if (ph.name != f.phase || !ph.skipped.empty()) continue;
    for (const auto& s : ph.repeats) {
      sends += keyed(s.flushes_by_reason, "remote_send_ipi");
      queued += keyed(s.csd_queued, "flush_tlb_func");
    }
  }
  f.targets = sends * (m.cpus - 1);
  if (f.targets == 0) {
    f.not_fitted = "no remote flush was measured in " + f.phase;
    return f;
  }
  f.skipped = f.targets - std::min(queued, f.targets);
  if (f.skipped == 0) {
    f.value = 0;
    f.note = fmt::format(
        "no flush IPI of {} was skipped: 0 (never preempted); a rate below about 3 in {} "
        "cannot be told from none",
        f.targets, f.targets);
    return f;
  }
  // The model skips about the preempted share of time D / (D + I) times a factor c of the
  // machine (the flushing vCPU is preempted too, and at 8 CPUs waits for 7 acks: c is about
  // 0.56 there at I = 1 ms, and grows as I shrinks; 0.93 to 1.07 at 2 CPUs). Its skip share
  // is not smooth in I: each I draws other windows, so neighbouring intervals differ by a few
  // tenths of a percent at 20000 flushes (1000 us 4.44%, 1027 us 4.51%, 1100 us 4.80% at 2
  // CPUs), too rough to search. So c is read from a long run at the interval in effect,
  // I = D (c / f - 1), and read again at that I, until the model skips within 3% of f (about
  // twice a run's sampling error) or four rounds are done.
  const double share = static_cast<double>(f.skipped) / static_cast<double>(f.targets);
  const double d = static_cast<double>(f.preempt_time);
  const sim::sim_time max = decl(k_interval).max;
  sim::sim_time at = f.start > 0 ? f.start : decl(k_interval).default_for(0);
  double model = model_skip_share(m, f.preempt_time, at);
  for (int round = 0; round < 4 && std::fabs(model - share) > 0.03 * share; ++round) {
    const double c = model * (d + static_cast<double>(at)) / d;
    const double interval = d * (c / share - 1);
    if (interval < static_cast<double>(k_min_interval)) {
      f.not_fitted = fmt::format(
          "{:.2f}% skipped would need preemptions less than 10us apart at vcpu_preempt_time {} "
          "(the model skips {:.2f}% at {}): set a longer vcpu_preempt_time in the file's "
          "[machine] and calibrate again",
          100 * share, workload::format_time_ns(f.preempt_time), 100 * model,
          workload::format_time_ns(at));
      return f;
    }
    at = interval >= static_cast<double>(max) ? max : std::llround(interval);
    model = model_skip_share(m, f.preempt_time, at);
    if (at == max) break;
  }
  f.value = at;
  f.model_share = model;
  if (at == max) f.note = "at the largest accepted value";
  return f;
}

void print_preemption(std::ostream& out, const fitted_preemption& f) {
  fmt::print(out, " {} ({}):", k_interval, f.phase);
  if (!f.value) {
    fmt::print(out, " not fitted: {}\n", f.not_fitted);
    return;
  }
  fmt::print(out,
             " {} of {} flush IPI targets skipped ({:.3f}%): {} (was {}; the model skips "
             "{:.3f}% there), for {} {}\n",
             f.skipped, f.targets,
             100.0 * static_cast<double>(f.skipped) / static_cast<double>(f.targets),
             workload::format_time_ns(*f.value), workload::format_time_ns(f.start),
             100.0 * f.model_share, k_time, workload::format_time_ns(f.preempt_time));
  fmt::print(out,
             "   KVM's PV flush skips a preempted vCPU (kvm_flush_tlb_multi): the model's vCPUs "
             "are preempted so that it skips that share{}\n",
             f.note.empty() ? "" : "; " + f.note);
}

nlohmann::ordered_json to_json(const fitted_preemption& f) {
  nlohmann::ordered_json j;
  j["param"] = k_interval;
  j["phase"] = f.phase;
  j["flush_ipi_targets"] = f.targets;
  j["skipped"] = f.skipped;
  j["vcpu_preempt_time_ns"] = f.preempt_time;
  j["start_ns"] = f.start;
  j["value_ns"] = f.value ? nlohmann::ordered_json(*f.value) : nullptr;
  j["model_skipped_share"] = f.value ? nlohmann::ordered_json(f.model_share) : nullptr;
  if (!f.note.empty()) j["note"] = f.note;
  if (!f.value) j["not_fitted"] = f.not_fitted;
  return j;
}

void merge_preemption(workload::cost_file& file, const fitted_preemption& p) {
  if (!p.value) return;
  auto set = [&](const char* key, sim::sim_time v, std::string source) {
    const std::string text = workload::format_param(decl(key), v);
    auto it = std::find_if(file.machine.begin(), file.machine.end(),
                           [&](const workload::setting& s) { return s.key == key; });
    if (it == file.machine.end())
      file.machine.push_back({key, text, file.path});
    else
      it->text = text;
    file.sources[key] = std::move(source);
  };
  set(k_interval, *p.value,
      fmt::format("shootdown host --calibrate: {} {}: {} of {} flush IPI targets skipped by KVM's "
                  "PV flush (preempted vCPUs); the model skips {:.3f}% at this value{}",
                  p.scenario, p.phase, p.skipped, p.targets, 100.0 * p.model_share,
                  p.note.empty() ? "" : "; " + p.note));
  set(k_time, p.preempt_time,
      "the preemption length vcpu_preempt_interval was fitted for (not measured: the skips give "
      "only how often a flush finds a vCPU preempted)");
}

}  // namespace sd::predict
