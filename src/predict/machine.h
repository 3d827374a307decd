// What the model should be told about this machine to predict what its kernel does: the
// arch backend, the CPU count and the patch set of the running kernel, each with the
// evidence it rests on (host --predict prints it).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::predict {

struct machine_guess {
  std::string arch;              // x86, x86-kvm, x86-invlpgb, arm64
  unsigned cpus = 0;             // online CPUs
  std::string kernel_release;    // uname -r
  std::string cpu_model;         // /proc/cpuinfo "model name" ("" if none, e.g. arm64)
  std::string patches;           // a patch-set spec (shootdown list patches)
  std::vector<std::string> why;  // one line per decision, with its evidence
  // x86 guests whose hypervisor flushes remote TLBs itself (a hypercall, e.g. PVM's
  // pvm_flush_tlb_multi): no flush IPI ever arrives, which no modeled backend does, so the
  // counts that depend on flush IPIs are not compared (predict.cpp).
  bool hypercall_flush = false;
  // x86-kvm: how often the host deschedules each vCPU, from the steal time this guest has
  // accounted since boot (/proc/stat): vcpu_preempt_interval for the model, 0 for never,
  // unset when /proc/stat is unreadable (then the scenario default applies).
  std::optional<std::int64_t> vcpu_preempt_interval;
};

// Reads uname, /proc/cpuinfo and /proc/kallsyms (through `root`, "/" normally: tests pass
// a directory with fake files). Never fails: what it cannot read it says in `why`.
machine_guess guess_machine(unsigned cpus, const std::string& release, const std::string& uname_m,
                            const std::string& root = "/");

// The preset for a kernel release "MAJOR.MINOR[.SUBLEVEL...]": the newest preset not newer
// than it ("v6.17", "v6.18", "v6.18.13", "v6.18.35", "v6.19", "v7.0", "v7.0.12"); "" when
// older than every preset.
std::string preset_for_release(const std::string& release);

}  // namespace sd::predict
