// Runs a program on a kernel: one thread per CPU executing its ops as the modeled kernel
// paths (kernel/paths.h). Shared by check (explored) and simulate --program (timed).
#pragma once
#include <memory>
#include <vector>

#include "kernel/kernel.h"
#include "program/program.h"
#include "workload/process.h"
#include "workload/threads.h"

namespace sd::program {

// The program's live objects; must outlive the run.
struct runtime {
  std::vector<std::shared_ptr<workload::process>> processes;
  std::vector<mm::address_space*> files;
  std::vector<std::unique_ptr<workload::event>> labels;
  std::vector<int> current;        // per CPU: index of the process whose thread runs there, or -1
  std::vector<const op*> running;  // per CPU: the op being run (null before and after)
  // Per CPU: the simulated time its last op returned (timed runs; 0 if it has no ops or
  // has not finished). host --calibrate times a twin's CPU 0 by it.
  std::vector<sim::sim_time> ended_at;
};

// Creates the processes' mms and files, marks nohz_full CPUs, and spawns CPU i's ops on
// CPU i. The kernel must have at least p.min_cpus() CPUs.
void spawn_program(kern::kernel& k, const program& p, workload::thread_group& threads, runtime& rt);

}  // namespace sd::program
