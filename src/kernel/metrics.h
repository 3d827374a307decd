// What a run measured. Names match `shootdown host` where they mean the same thing.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/time.h"

namespace sd::kern {

struct metrics {
  std::uint64_t ipis_sent = 0;                       // physical IPIs (APIC writes / SGIs)
  std::vector<std::uint64_t> ipis_received_per_cpu;  // IPI interrupts taken per CPU
  std::uint64_t flush_ipis = 0;                      // IPIs sent by TLB-flush paths
  std::uint64_t sync_ipis = 0;                       // IPIs sent by tlb_remove_table_sync_*
  std::uint64_t sync_broadcasts = 0;                 // tlb_remove_table_sync_one calls that IPI'd
  std::uint64_t tlbi_broadcasts = 0;                 // broadcast TLBI instructions (arm64)
  std::uint64_t dsb_waits = 0;                       // DSB ISH completions waited for (arm64)
  std::map<std::string, std::uint64_t> flushes_by_reason;
  std::uint64_t rcu_grace_periods = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t page_faults = 0;
  std::uint64_t pages_freed = 0;
  std::uint64_t tables_freed = 0;
  std::uint64_t gup_fast_pages = 0;
  std::uint64_t gup_fast_short = 0;  // GUP-fast calls that stopped early (slow path not modeled)
  sim::sim_time sim_time_ns = 0;     // when the last workload thread finished

  std::uint64_t cpus_interrupted() const {
    std::uint64_t n = 0;
    for (auto r : ipis_received_per_cpu) n += r ? 1 : 0;
    return n;
  }
};

}  // namespace sd::kern
