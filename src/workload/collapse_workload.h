// The khugepaged workload shared by khugepaged-collapse and rt-isolated: a process whose
// threads populate 2 MiB ranges of small pages and keep touching them (optionally with a
// GUP-fast thread), and a khugepaged kthread that collapses the ranges one by one.
#pragma once
#include <memory>

#include "workload/process.h"
#include "workload/threads.h"

namespace sd::workload {

struct collapse_setup {
  unsigned first_cpu = 0;  // process threads on [first_cpu, first_cpu + threads)
  unsigned threads = 1;
  bool gup_fast = false;  // one more CPU after the threads runs GUP-fast over the ranges
  unsigned khugepaged_cpu = 0;
  std::int64_t ranges = 4;
  sim::sim_time scan_sleep = 100'000;
  std::shared_ptr<event> done = std::make_shared<event>();  // set after the last collapse
};

// Spawns the process threads, the GUP-fast thread and the khugepaged kthread.
void spawn_collapse_workload(kern::kernel& k, thread_group& threads, const collapse_setup& s);

}  // namespace sd::workload
