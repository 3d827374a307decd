// Counting kernel tracepoint events split by a filtered key, with perf_event_open (no perf
// binary needed): one counting event per key, each with its own filter, counting in this
// process and the threads and children it starts after open() (inherit), so other
// processes' events on a busy machine are not counted (issue 9 item 12).
//   tlb:tlb_flush     by reason ("reason == N"; the names come from the format file). A
//                     flush is traced in the context of the task running on that CPU: a
//                     remote flush_tlb_func counts when one of our threads was interrupted.
//   csd:csd_queue_cpu by callback ("func == ADDR", the address from /proc/kallsyms): each
//                     cross-CPU call our threads queue on another CPU (kernel/smp.c traces
//                     it per target in smp_call_function_many_cond, before the IPI, v6.5+),
//                     so flush calls and sync calls are counted apart, IPI or not (issue 9
//                     item 11).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sd::host {

class tracepoint_counters {
 public:
  // Null (with `why` saying what is missing and how to enable it) when unavailable.
  static std::unique_ptr<tracepoint_counters> open_tlb_flush(std::string& why);
  // One counter per kernel function in `callbacks` that `kallsyms` (the text of
  // /proc/kallsyms) gives an address for; keyed by the function's name. With
  // `every_process`, the calls any task queues, counted on every CPU (pid -1): a cross-check
  // of the per-process count, which misses some of what exiting children queue (host_run).
  static std::unique_ptr<tracepoint_counters> open_csd_queue(
      const std::vector<std::string>& callbacks, const std::string& kallsyms, std::string& why,
      bool every_process = false);
  // Events of this process and its children that bound what the host adds to the model's
  // counts (predict), each opened where the kernel has it (`why_faults`, `why_switches`
  // say why not; null when neither):
  //   "write_protect": write faults on present pages (copy-on-write copies, reuses) in user
  //     and kernel mode (x86 exceptions:page_fault_user and page_fault_kernel, whose error
  //     code has X86_PF_PROT and X86_PF_WRITE: arch/x86/include/asm/trap_pf.h). Each copy
  //     flushes the old translation (do_wp_page, ptep_clear_flush). Missing on arm64.
  //   "switch_out": sched:sched_switch, which kernel/sched/core.c __schedule traces in the
  //     context of the task switched from, before context_switch schedules its perf events
  //     out: every time one of the process's tasks leaves a CPU (not an exiting task's last
  //     switch: perf_event_exit_task has taken its counters by then). A task-switch flush
  //     the process's counters see happens inside such a switch.
  static std::unique_ptr<tracepoint_counters> open_task_events(std::string& why_faults,
                                                               std::string& why_switches);
  // Whether a counter with this key is open.
  bool counts(const std::string& key) const;
  ~tracepoint_counters();
  tracepoint_counters(const tracepoint_counters&) = delete;
  tracepoint_counters& operator=(const tracepoint_counters&) = delete;

  // Raw counts into a buffer sized once (no allocation between the reads), and their sum
  // by key. For measurement windows that must contain nothing but the workload.
  void read_raw(std::vector<std::uint64_t>& out) const;
  std::map<std::string, std::uint64_t> by_key(const std::vector<std::uint64_t>& raw) const;

 private:
  tracepoint_counters() = default;
  // Opens one counter of event `id` with `filter`; false with `why` set on failure.
  bool add(const std::string& id, const std::string& event, const std::string& filter,
           const std::string& key, std::string& why, int cpu = -1);
  struct counter {
    int fd;
    std::string key;
  };
  std::vector<counter> counters_;
};

// The callbacks host counts queued calls of: the TLB flush (arch/x86/mm/tlb.c) and the
// page-table-free sync (mm/mmu_gather.c). The model counts the same (kern::metrics).
inline const std::vector<std::string>& csd_callbacks() {
  static const std::vector<std::string> k{"flush_tlb_func", "tlb_remove_table_smp_sync"};
  return k;
}

// Cross-CPU calls of the scheduler, which the call-function interrupt line counts too: remote
// wake-ups (kernel/sched/core.c ttwu_queue_wakelist queues the target's sched_ttwu_pending)
// and nohz idle-balance kicks (kernel/sched/fair.c kick_ilb: nohz_csd_func). Both seen with
// perf record -e csd:csd_queue_cpu during hugetlb-fork-exit on 6.18.44, where they made the
// call-function line exceed the model's syncs. Counted machine-wide only: the model runs no
// scheduler, so they are what can explain such a line (predict).
inline const std::vector<std::string>& scheduler_csd_callbacks() {
  static const std::vector<std::string> k{"sched_ttwu_pending", "nohz_csd_func"};
  return k;
}

// The id and format file of tracepoint `event` ("tlb/tlb_flush"), wherever tracefs is (as
// root, from a private mount when it is not mounted); false with `why` set otherwise.
bool find_tracepoint(const std::string& event, std::string& id_text, std::string& format,
                     std::string& why);

// Maps the tracepoint's reason strings to the model's keys ("remote IPI send" ->
// "remote_send_ipi"). Exposed for tests.
std::string reason_key(const std::string& kernel_name);

}  // namespace sd::host
