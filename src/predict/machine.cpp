#include "predict/machine.h"

#include "host/interrupts.h"
#include "host/kallsyms.h"
#include "host/text_file.h"
#include "patches/patches.h"
#include "workload/builtin.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string_view>

namespace sd::predict {

namespace {

// The value of the first CPU's line `field` in /proc/cpuinfo ("" if none).
std::string cpuinfo_field(const std::string& cpuinfo, std::string_view field) {
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.rfind(field, 0) != 0) continue;
    const auto name_end = line.find_last_not_of(" \t", colon - 1);
    if (name_end + 1 != field.size()) continue;  // "flags" is not "flags_x"
    const auto v = line.find_first_not_of(' ', colon + 1);
    return v == std::string::npos ? "" : line.substr(v);
  }
  return "";
}

// The "flags" line of the first CPU in /proc/cpuinfo, with a space on either side.
std::string cpu_flags(const std::string& cpuinfo) {
  return fmt::format(" {} ", cpuinfo_field(cpuinfo, "flags"));  // not " " + (GCC 12 -Wrestrict)
}

// A guest whose CPUs took no TLB-shootdown interrupt since boot although they exchanged
// many other cross-calls flushes remote TLBs without IPIs: the hypervisor does it.
void guess_flush_backend(const std::string& root, machine_guess& g) {
  std::string text, why;
  host::irq_counts irq;
  if (!host::read_text_file(root + "proc/interrupts", text) ||
      !host::parse_interrupts(text, irq, why) || irq.tlb.size() < 2)
    return;
  const auto sum = [](const std::vector<std::uint64_t>& v) {
    return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
  };
  constexpr std::uint64_t k_enough_calls = 1000;
  if (sum(irq.tlb) != 0 || sum(irq.cal) < k_enough_calls) return;
  g.hypercall_flush = true;
  std::string kallsyms;
  const bool pvm = host::read_text_file(root + "proc/kallsyms", kallsyms) &&
                   host::has_symbol(kallsyms, "pvm_flush_tlb_multi");
  g.why.push_back("flush backend: a hypercall" +
                  std::string(pvm ? " (PVM: pvm_flush_tlb_multi is in /proc/kallsyms)" : "") +
                  ": /proc/interrupts shows no TLB-shootdown interrupt since boot on any CPU but " +
                  std::to_string(sum(irq.cal)) +
                  " call-function interrupts; the model has no such backend, so counts that "
                  "depend on flush IPIs are not compared");
}

// The share of time the host kept this guest's vCPUs off their physical CPUs: the steal
// ticks of /proc/stat's "cpu" line against all its ticks since boot. The model's vCPUs are
// off for vcpu_preempt_time every vcpu_preempt_interval on average, so the interval that
// gives the same share is that time divided by it; no steal at all gives 0, never
// (kernel/sched/cputime.c accounts steal from the KVM steal-time record, the same record
// kvm_flush_tlb_multi reads to skip a preempted vCPU).
void guess_vcpu_preemption(const std::string& root, machine_guess& g) {
  std::string stat;
  std::istringstream in;
  if (host::read_text_file(root + "proc/stat", stat)) in.str(stat);
  std::string label;
  std::vector<std::uint64_t> ticks;
  in >> label;
  for (std::uint64_t t; ticks.size() < 8 && in >> t;) ticks.push_back(t);
  if (label != "cpu" || ticks.size() < 8) {
    g.why.push_back("vCPU preemption: /proc/stat unreadable, the scenario default is used");
    return;
  }
  const std::uint64_t steal = ticks[7];
  const std::uint64_t all = std::accumulate(ticks.begin(), ticks.end(), std::uint64_t{0});
  const auto common = workload::common_params();
  const std::int64_t preempt_time =
      workload::find_param(common, "vcpu_preempt_time")->default_for(g.cpus);
  const std::int64_t longest = workload::find_param(common, "vcpu_preempt_interval")->max;
  if (steal == 0) {
    g.vcpu_preempt_interval = 0;
  } else {  // at least preempt_time (steal <= all), so above the shortest allowed
    const double interval =
        static_cast<double>(preempt_time) * static_cast<double>(all) / static_cast<double>(steal);
    g.vcpu_preempt_interval =
        static_cast<std::int64_t>(std::min(interval, static_cast<double>(longest)));
  }
  g.why.push_back(fmt::format(
      "vCPU preemption: /proc/stat has {} steal ticks of {} since boot ({:.4f}%): "
      "vcpu_preempt_interval {} at vcpu_preempt_time {}us",
      steal, all, 100.0 * static_cast<double>(steal) / static_cast<double>(all ? all : 1),
      *g.vcpu_preempt_interval == 0 ? std::string("0 (never)")
                                    : fmt::format("{}us", *g.vcpu_preempt_interval / 1000),
      preempt_time / 1000));
}

}  // namespace

std::string preset_for_release(const std::string& release) {
  unsigned major = 0, minor = 0, sublevel = 0;
  char dot = 0;
  std::istringstream in(release);
  if (!(in >> major >> dot >> minor) || dot != '.') return "";
  if (in.peek() == '.') {
    in.get();
    if (!(in >> sublevel)) sublevel = 0;
  }
  const unsigned v = major * 100 + minor;
  // The stable presets start at the first release whose notes list the change
  // (patches.cpp); 7.1 and later have c2ff4764e03e from mainline.
  if (v > 700 || (v == 700 && sublevel >= 12)) return "v7.0.12";
  if (v == 700) return "v7.0";
  if (v >= 619) return "v6.19";
  if (v == 618) return sublevel >= 35 ? "v6.18.35" : sublevel >= 13 ? "v6.18.13" : "v6.18";
  if (v >= 617) return "v6.17";
  return "";
}

machine_guess guess_machine(unsigned cpus, const std::string& release, const std::string& uname_m,
                            const std::string& root) {
  machine_guess g;
  g.cpus = cpus;
  g.kernel_release = release;
  std::string cpuinfo;
  const bool have_cpuinfo = host::read_text_file(root + "proc/cpuinfo", cpuinfo);
  if (have_cpuinfo) g.cpu_model = cpuinfo_field(cpuinfo, "model name");
  if (uname_m == "aarch64") {
    g.arch = "arm64";
    g.why.push_back("arch arm64: uname -m is aarch64");
  } else {
    const std::string flags = cpu_flags(cpuinfo);
    if (flags.find(" invlpgb ") != std::string::npos) {
      g.arch = "x86-invlpgb";
      g.why.push_back("arch x86-invlpgb: /proc/cpuinfo has the invlpgb flag");
    } else if (flags.find(" hypervisor ") != std::string::npos) {
      g.arch = "x86-kvm";
      g.why.push_back(
          "arch x86-kvm: /proc/cpuinfo has the hypervisor flag (the model knows KVM's PV "
          "flush; another hypervisor's flush backend is not modeled)");
    } else {
      g.arch = "x86";
      g.why.push_back(have_cpuinfo ? "arch x86: no hypervisor and no invlpgb flag"
                                   : "arch x86: /proc/cpuinfo unreadable, assumed native");
    }
  }
  if (g.arch == "x86-kvm") {
    guess_flush_backend(root, g);
    guess_vcpu_preemption(root, g);
  }
  g.patches = preset_for_release(release);
  if (g.patches.empty()) {
    g.patches = "v6.17";
    g.why.push_back("patches v6.17: kernel " + release +
                    " is older than every preset; the oldest is used");
  } else {
    g.why.push_back("patches " + g.patches + ": kernel " + release +
                    (g.patches == "v7.0.12" && release.rfind("7.0.", 0) != 0
                         ? " is newer than every preset; v7.0.12 is the newest"
                         : ""));
  }
  // Features a stable kernel may carry beyond its release's preset, told by the functions
  // they add (issue 9 item 9).
  std::string kallsyms;
  if (!host::read_text_file(root + "proc/kallsyms", kallsyms) || kallsyms.empty()) {
    g.why.push_back("/proc/kallsyms unreadable: no stable backport detected");
    return g;
  }
  const bool gather = host::has_symbol(kallsyms, "huge_pmd_unshare_flush");
  const bool preset_has_gather =
      patches::parse_patch_set(g.patches)[patches::feature::hugetlb_unshare_gather];
  if (gather && !preset_has_gather) {
    g.patches += "+hugetlb-unshare-gather";
    g.why.push_back(
        "+hugetlb-unshare-gather: /proc/kallsyms has huge_pmd_unshare_flush (8ce720d, "
        "backported to this kernel)");
  } else if (gather) {
    g.why.push_back(
        "hugetlb-unshare-gather: /proc/kallsyms has huge_pmd_unshare_flush, as the preset says");
  } else if (preset_has_gather && g.patches.rfind("v6.18.", 0) == 0) {
    // A 6.18.y vendor kernel without the stable backport.
    g.why.push_back("patches v6.18: /proc/kallsyms has no huge_pmd_unshare_flush, so this " +
                    release + " kernel lacks the stable trees' 8ce720d");
    g.patches = "v6.18";
  }
  return g;
}

}  // namespace sd::predict
