#include "check/execution.h"

#include <fmt/format.h>

#include "kernel/paths.h"

namespace sd::check {

namespace {

kern::machine_config machine(const check_config& cfg) {
  kern::machine_config mc;
  mc.arch = cfg.arch;
  mc.cpus = cfg.cpus;
  mc.seed = 1;
  mc.costs = cost::cost_model(arch::find_arch(cfg.arch)->costs);
  mc.knobs = cfg.knobs;
  mc.patches = cfg.patches;
  return mc;  // no timed vCPU preemption: the explorer preempts explicitly
}

// Logical time between two explored steps: traces show the interleaving in order.
constexpr sim::sim_time k_tick = 1'000;

}  // namespace

execution::execution(const check_config& cfg, bool record, kern::trace_recorder* trace)
    : cfg_(cfg), record_(record), k_(machine(cfg), sched_), threads_(k_) {
  k_.trace = trace;
  if (record_) {
    k_.track_scopes = true;
    k_.scopes.resize(k_.ncpus());
  }
  if (k_.arch->name() == "x86-kvm") k_.vcpu = kern::vcpu_preemption::explicit_choices(k_.ncpus());
  program::spawn_program(k_, cfg.prog, threads_, rt_);
  compute_options();
}

execution::~execution() {
  // Executions end mid-path (a violation stops them): destroy the suspended coroutine
  // frames while the kernel and the program they refer to still exist.
  k_.trace = nullptr;
  k_.track_scopes = false;
  k_.eng.destroy_contexts();
}

void execution::compute_options() {
  options_.clear();
  const unsigned n = k_.ncpus();
  woke_ = false;
  enabled_.resize(k_.eng.actors(), false);
  for (unsigned a = 0; a < k_.eng.actors(); ++a) {
    const bool was = enabled_[a];
    enabled_[a] = false;
    if (a < n && k_.vcpu.preempted(a)) continue;
    if (k_.eng.can_step(a)) options_.push_back({choice_kind::step, static_cast<std::uint16_t>(a)});
    if (k_.eng.can_take_irq(a))
      options_.push_back({choice_kind::irq, static_cast<std::uint16_t>(a)});
    enabled_[a] = k_.eng.can_step(a) || k_.eng.can_take_irq(a);
    woke_ = woke_ || (enabled_[a] && !was && last_ && a != *last_);
  }
  // Hardware events only while the program runs: afterwards they could only refill TLBs.
  bool running = false;
  for (unsigned c = 0; c < n; ++c) running = running || !k_.eng.finished(c);
  if (!running) return;
  // Speculative walks by lazy CPUs: nothing of theirs touches the mm, yet the MMU may walk
  // it (kernel-mechanisms s12.1). A CPU running the mm fills its TLB by the program's own
  // accesses; its speculation is left out (report/check_report.cpp left_out).
  const auto& addrs = cfg_.prog.addresses;
  for (unsigned c = 0; c < n; ++c) {
    if (k_.vcpu.preempted(c) || !k_.cpus[c].is_lazy) continue;
    for (std::size_t i = 0; i < addrs.size(); ++i)
      if (kern::speculative_walk_fills(k_, c, addrs[i]))
        options_.push_back(
            {choice_kind::walk, static_cast<std::uint16_t>(c), static_cast<std::uint16_t>(i)});
  }
  // Broadcast invalidations issued without a completion wait land whenever the hardware
  // gets to them: at any point the explorer chooses, oldest first.
  for (unsigned c = 0; c < n; ++c)
    if (!k_.cpus[c].pending_invalidations.empty())
      options_.push_back({choice_kind::land, static_cast<std::uint16_t>(c)});
  // The hypervisor: preempting the vCPU that moved last is the same as switching away
  // from it and then preempting it, so only the others are offered.
  if (k_.vcpu.is_explicit())
    for (unsigned c = 0; c < n; ++c) {
      if (k_.vcpu.preempted(c))
        options_.push_back({choice_kind::resume, static_cast<std::uint16_t>(c)});
      else if (!k_.eng.finished(c) && !(last_ && *last_ == c))
        options_.push_back({choice_kind::preempt, static_cast<std::uint16_t>(c)});
    }
}

std::optional<choice> execution::continuation() const {
  if (!last_) return std::nullopt;
  const auto a = static_cast<std::uint16_t>(*last_);
  if (*last_ < k_.ncpus() && k_.vcpu.preempted(*last_)) return std::nullopt;
  if (k_.eng.can_take_irq(a)) return choice{choice_kind::irq, a};
  if (k_.eng.can_step(a)) return choice{choice_kind::step, a};
  return std::nullopt;
}

std::string execution::actor_name(unsigned a) const {
  return a < k_.ncpus() ? fmt::format("CPU {}", a) : std::string("rcu_gp kthread");
}

step_record execution::describe(const choice& c) const {
  step_record r;
  r.c = c;
  const unsigned a = c.actor;
  if (a < k_.ncpus() && rt_.running[a]) r.op = rt_.running[a]->text;
  switch (c.kind) {
    case choice_kind::step: {
      const char* label = k_.eng.next_label(a);
      r.what = label ? label : "step";
      if (a < k_.ncpus() && !k_.scopes[a].empty()) r.function = k_.scopes[a].back();
      break;
    }
    case choice_kind::irq:
      r.function = "irq";
      r.what = "take the pending IPI";
      break;
    case choice_kind::walk:
      r.function = "MMU";
      r.what = fmt::format("speculative page walk of {:#x}", cfg_.prog.addresses[c.arg]);
      break;
    case choice_kind::preempt:
      r.function = "hypervisor";
      r.what = "preempts the vCPU (steal time: PREEMPTED)";
      break;
    case choice_kind::resume:
      r.function = "hypervisor";
      r.what = "runs the vCPU again";
      break;
    case choice_kind::land:
      r.function = "TLB";
      r.what = "a broadcast invalidation issued earlier completes here";
      break;
  }
  return r;
}

void execution::apply(const choice& c) {
  step_record rec;
  if (record_) {
    rec = describe(c);
    if (c.actor < k_.ncpus()) rec.irqs_off = !k_.eng.irqs_enabled(c.actor);
  }
  const sim::sim_time at = static_cast<sim::sim_time>(depth_) * k_tick;
  ++depth_;
  switch (c.kind) {
    case choice_kind::step:
    case choice_kind::irq:
      k_.eng.explore_step(c.actor, c.kind == choice_kind::irq, at);
      last_ = c.actor;
      break;
    case choice_kind::walk:
      kern::speculative_walk(k_, c.actor, cfg_.prog.addresses.at(c.arg));
      break;
    case choice_kind::preempt:
    case choice_kind::resume:
      k_.vcpu.set_preempted(c.actor, c.kind == choice_kind::preempt);
      break;
    case choice_kind::land: {
      auto& pending = k_.cpus.at(c.actor).pending_invalidations;
      k_.cpus[c.actor].tlb.apply(pending.front());
      pending.pop_front();
      break;
    }
  }
  if (record_) log_.push_back(std::move(rec));
  compute_options();
}

void execution::finish() {
  for (sim::actor_id a : k_.eng.stuck_actors()) {
    if (a >= k_.ncpus()) continue;  // the RCU kthread waits for callbacks
    k_.mon.report({invariant::deadlock,
                   {a},
                   fmt::format("CPU {}", a),
                   "end of execution",
                   "its thread was still blocked when no CPU could move",
                   0});
  }
}

}  // namespace sd::check
