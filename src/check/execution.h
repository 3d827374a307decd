// One execution of a program under the explorer's control: a fresh kernel, the program's
// threads, and at every point the list of enabled choices (check/choice.h). The explorer
// replays a prefix of choices and extends it; the same choices always give the same run.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check/choice.h"
#include "check/monitor.h"
#include "kernel/kernel.h"
#include "patches/knobs.h"
#include "patches/patches.h"
#include "program/program.h"
#include "program/runtime.h"
#include "workload/threads.h"

namespace sd::check {

// What check runs: a program on a machine. Frozen after validation (cli/check.cpp).
struct check_config {
  program::program prog;
  std::string arch = "x86";
  unsigned cpus = 0;
  std::string patch_spec;
  patches::patch_set patches;
  patches::knob_set knobs;
  std::vector<std::string> knobs_off;  // as given, for the replay command line
  // Hardware choices beyond the default ones (speculative walks by lazy CPUs, IPI timing,
  // vCPU preemption, pending invalidations): each multiplies the schedules, so opt-in.
  bool walks_all = false;  // speculative walks by every CPU with a user mm loaded
  bool evictions = false;  // TLB and walk-cache evictions
};

// One row of a counterexample: who moved, in which kernel function, doing what.
struct step_record {
  choice c;
  std::string op;         // the program op the CPU runs (empty: none, e.g. the RCU kthread)
  std::string function;   // innermost kernel path (trace_scope), if any
  std::string what;       // the step: a cost parameter's name, "take IPI", ...
  bool irqs_off = false;  // when the step began (an IPI cannot be taken then)
};

// Per option: whether it commutes with the choice just made (1) or not (0). Bytes, not
// std::vector<bool>: masks are made on every explored node.
using commute_mask = std::vector<std::uint8_t>;

class execution {
 public:
  execution(const check_config& cfg, bool record, kern::trace_recorder* trace = nullptr);
  ~execution();
  execution(const execution&) = delete;
  execution& operator=(const execution&) = delete;

  // The enabled choices now, in a fixed order: actors' steps and IRQs by actor id, then
  // speculative walks, then vCPU preemption and resumption (x86-kvm).
  const std::vector<choice>& options() const { return options_; }
  // Makes choice c. With `indep`, also says for each option enabled before it whether it
  // commutes with c here (check/explorer.h, Reduction). Two footprint events
  // (check/choice.h) on different CPUs commute. A TLB-only event on another CPU commutes
  // with a step or IRQ c that touched neither that CPU's TLB nor the holder lists, did not
  // end the program, and left everything the event reads as it was. The hypervisor
  // preempting another vCPU commutes with such a c when c did not read that vCPU's
  // steal-time state, did not change whether it can move, did not end the program, and
  // costs the same in both orders (a preemption ends a free switch).
  void apply(const choice& c, commute_mask* indep = nullptr);
  // Makes choice c without computing the options after it: the explorer replaying a
  // prefix it explored before (whose options it has) up to where it needs them again.
  // options(), woke_another() and the state apply() measures from are stale until apply()
  // has made the last choice that is not TLB-only and the one before it (whether a step
  // woke another actor compares who could move before and after it; a TLB-only event keeps
  // the answer: explorer.cpp, first_full).
  void advance(const choice& c);
  // The last actor that made a step (none at the start).
  std::optional<unsigned> last_actor() const { return last_; }
  // Whether the last step enabled another actor (woke a waiter, raised its IPI): switching
  // to any actor then is not a preemption, as when the last actor blocks.
  bool woke_another() const { return woke_; }
  // The choice that continues the last actor: its IRQ if one is pending, else its step.
  std::optional<choice> continuation() const;

  bool violated() const { return k_.mon.total() > 0; }
  const violation& first_violation() const { return k_.mon.violations().front(); }
  // Called when no choice is left: reports CPUs still blocked as a deadlock.
  void finish();
  std::size_t depth() const { return depth_; }
  const std::vector<step_record>& log() const { return log_; }
  const kern::metrics& stats() const { return k_.stats; }
  std::string actor_name(unsigned a) const;
  unsigned cpus() const { return k_.ncpus(); }

 private:
  void compute_options();
  // The choice's effect on the kernel (and the log when recording).
  void make(const choice& c);
  // What the TLB-only hardware event o reads outside its CPU's TLB, and whether it may happen.
  std::vector<std::uint64_t> event_inputs(const choice& o);
  step_record describe(const choice& c) const;

  const check_config& cfg_;
  bool record_;
  struct null_scheduler final : sim::scheduler {
    void resize(std::size_t) override {}
    void update(sim::actor_id, std::optional<sim::sim_time>) override {}
    std::optional<sim::actor_id> next() override { return std::nullopt; }
    bool uses_time() const override { return false; }
  } sched_;
  kern::kernel k_;
  workload::thread_group threads_;
  program::runtime rt_;
  std::vector<choice> options_;
  std::optional<unsigned> last_;
  bool woke_ = false;
  std::vector<std::uint8_t> enabled_;  // per actor: could step or take an IRQ
  // apply()'s view of the options before a measured step: the options, what each TLB-only
  // event reads, whether each preempted vCPU could move (-1: not a preemption).
  struct {
    std::vector<choice> options;
    std::vector<std::vector<std::uint64_t>> inputs;
    std::vector<std::int8_t> could_move;
  } measured_;
  bool running_ = false;  // some CPU's program has not ended (hardware events happen)
  std::size_t depth_ = 0;
  std::vector<step_record> log_;
};

}  // namespace sd::check
