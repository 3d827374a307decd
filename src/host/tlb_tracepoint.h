// Counts of the kernel's tlb:tlb_flush tracepoint by reason, with perf_event_open (no perf
// binary needed): one counting event per reason, each with a "reason == N" filter, counting
// in this process and the threads and children it starts after open() (inherit), so the
// flushes of other processes on a busy machine are not counted. A flush is traced in the
// context of the task running on that CPU: a remote flush_tlb_func counts when one of our
// threads was interrupted, not when the CPU was idle or ran another process. The reason
// names come from the tracepoint's own format file.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sd::host {

class tlb_flush_counters {
 public:
  // Null (with `why` saying what is missing and how to enable it) when unavailable.
  static std::unique_ptr<tlb_flush_counters> open(std::string& why);
  ~tlb_flush_counters();
  tlb_flush_counters(const tlb_flush_counters&) = delete;
  tlb_flush_counters& operator=(const tlb_flush_counters&) = delete;

  // Raw counts into a buffer sized once (no allocation between the reads), and their sum
  // by reason. For measurement windows that must contain nothing but the workload.
  void read_raw(std::vector<std::uint64_t>& out) const;
  std::map<std::string, std::uint64_t> by_reason(const std::vector<std::uint64_t>& raw) const;

 private:
  tlb_flush_counters() = default;
  struct counter {
    int fd;
    std::string reason;
  };
  std::vector<counter> counters_;
};

// Maps the tracepoint's reason strings to the model's keys ("remote IPI send" ->
// "remote_send_ipi"). Exposed for tests.
std::string reason_key(const std::string& kernel_name);

}  // namespace sd::host
