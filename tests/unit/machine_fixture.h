// Helpers to build a small machine and run hand-written per-CPU programs on it.
#pragma once
#include <memory>
#include <string>

#include "kernel/kernel.h"
#include "kernel/paths.h"
#include "workload/threads.h"

namespace sd::test {

struct machine {
  explicit machine(const std::string& arch, unsigned cpus,
                   patches::knob_set knobs = patches::knob_set{},
                   const std::string& patch_set = std::string(patches::k_default_preset)) {
    kern::machine_config cfg;
    cfg.arch = arch;
    cfg.cpus = cpus;
    cfg.costs = cost::cost_model(arch::find_arch(arch)->costs);
    cfg.knobs = knobs;
    cfg.patches = patches::parse_patch_set(patch_set);
    k = std::make_unique<kern::kernel>(cfg, sched);
    threads = std::make_unique<workload::thread_group>(*k);
  }
  machine(const machine&) = delete;  // the kernel refers to sched
  machine& operator=(const machine&) = delete;

  void start(unsigned cpu, workload::thread_fn body) { threads->spawn(cpu, std::move(body)); }
  void run() { k->eng.run(50'000'000); }

  sim::timed_scheduler sched;
  std::unique_ptr<kern::kernel> k;
  std::unique_ptr<workload::thread_group> threads;
};

inline constexpr mm::va_t GiB = mm::va_t{1} << 30;

}  // namespace sd::test
