// Optional event recording for `simulate --trace`: Chrome/Perfetto trace-event JSON with one
// track per CPU (tid = the CPU), one for the rcu_gp kthread (tid = cpus) and, beside each
// actor's, one for its IRQs-off regions (tid = cpus + 1 + actor): an IRQs-off region does not
// nest in the kernel paths (a path may enable IRQs its caller disabled), and Perfetto draws
// only nested slices right. Kernel paths are complete slices ("X"), IRQs-off regions slices
// named irqs_off, IPIs flow arrows ("s" on the sender, "f" on each receiver), and instants
// named after the kernel's tracepoints: tlb_flush (with its reason), ipi_send_cpumask. The
// kernel holds a null pointer when tracing is off, so the cost then is one test per site.
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "sim/time.h"

namespace sd::kern {

struct kernel;

class trace_recorder {
 public:
  // Actors are the CPUs and, after them, the rcu_gp kthread.
  explicit trace_recorder(unsigned cpus)
      : cpus_(cpus), pending_flows_(cpus + 1), irqs_off_since_(cpus + 1, -1) {}
  void slice(unsigned cpu, std::string name, sim::sim_time begin, sim::sim_time end,
             std::map<std::string, std::string> args = {});
  void instant(unsigned cpu, std::string name, sim::sim_time at,
               std::map<std::string, std::string> args = {});
  // An IPI from `from` to `to`: the arrow starts now and ends when `to` handles it.
  void ipi_sent(unsigned from, unsigned to, sim::sim_time at);
  void ipi_handled(unsigned cpu, sim::sim_time at);
  void irqs_off(unsigned cpu, sim::sim_time at);
  void irqs_on(unsigned cpu, sim::sim_time at);
  // {"traceEvents": [...]} with thread names "CPU n", "rcu_gp kthread", "CPU n irqs_off".
  void write(std::ostream& out, const std::string& title) const;

 private:
  struct event {
    char ph;
    unsigned cpu;
    std::string name;
    sim::sim_time ts;
    sim::sim_time dur;
    std::uint64_t id;
    std::map<std::string, std::string> args;
  };
  unsigned cpus_;
  std::vector<event> events_;
  std::vector<std::vector<std::uint64_t>> pending_flows_;
  std::vector<sim::sim_time> irqs_off_since_;
  std::uint64_t next_flow_ = 1;
};

// A kernel path as a slice on its CPU's track, from the next step to the last.
class trace_scope {
 public:
  trace_scope(kernel& k, unsigned cpu, const char* name);
  ~trace_scope();
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

 private:
  kernel& k_;
  unsigned cpu_;
  const char* name_;
  sim::sim_time begin_;
};

}  // namespace sd::kern
