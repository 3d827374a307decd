#include "check/execution.h"

#include <fmt/format.h>

#include <algorithm>

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
  enabled_.resize(k_.eng.actors(), 0);
  for (unsigned a = 0; a < k_.eng.actors(); ++a) {
    const bool was = enabled_[a];
    enabled_[a] = false;
    if (a < n && k_.vcpu.preempted(a)) continue;
    const bool step = k_.eng.can_step(a), irq = k_.eng.can_take_irq(a);
    if (step) options_.push_back({choice_kind::step, static_cast<std::uint16_t>(a)});
    if (irq) options_.push_back({choice_kind::irq, static_cast<std::uint16_t>(a)});
    enabled_[a] = step || irq;
    woke_ = woke_ || (enabled_[a] && !was && last_ && a != *last_);
  }
  // Hardware events only while the program runs: afterwards they could only refill TLBs.
  running_ = false;
  for (unsigned c = 0; c < n; ++c) running_ = running_ || !k_.eng.finished(c);
  if (!running_) return;
  // Speculative walks: the MMU of any CPU with a user mm loaded may walk it at any time
  // and fill TLB and walk-cache entries (kernel-mechanisms s12.1). Offered for lazy CPUs,
  // whose own code never touches the mm; for every CPU with walks_all.
  const auto& addrs = cfg_.prog.addresses;
  for (unsigned c = 0; c < n; ++c) {
    if (k_.vcpu.preempted(c) || !(cfg_.walks_all || k_.cpus[c].is_lazy)) continue;
    for (std::size_t i = 0; i < addrs.size(); ++i)
      if (kern::speculative_walk_fills(k_, c, addrs[i]))
        options_.push_back(
            {choice_kind::walk, static_cast<std::uint16_t>(c), static_cast<std::uint16_t>(i)});
  }
  // Evictions: a TLB may drop any entry at any time (capacity, replacement policy), which
  // makes the next access walk the page tables again.
  for (unsigned c = 0; c < n && cfg_.evictions; ++c) {
    if (k_.vcpu.preempted(c)) continue;
    for (std::size_t i = 0; i < addrs.size(); ++i)
      if (k_.cpus[c].tlb.covers(addrs[i]))
        options_.push_back(
            {choice_kind::evict, static_cast<std::uint16_t>(c), static_cast<std::uint16_t>(i)});
  }
  // perf sampling NMIs on the CPUs the program marks: whenever the CPU runs user code of a
  // process (where context tracking reads user on nohz_full), not nested.
  for (unsigned c = 0; c < n; ++c) {
    const auto& cp = c < cfg_.prog.cpus.size() ? cfg_.prog.cpus[c] : cfg_.prog.extra;
    const hw::cpu& cpu = k_.cpus[c];
    if (!cp.perf_nmi || k_.vcpu.preempted(c) || cpu.in_nmi || cpu.mode != hw::cpu_mode::user ||
        !cpu.current_mm || !k_.eng.can_step(c))
      continue;
    for (std::size_t i = 0; i < addrs.size(); ++i)
      options_.push_back(
          {choice_kind::nmi, static_cast<std::uint16_t>(c), static_cast<std::uint16_t>(i)});
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
  return k_.actor_name(a);
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
    case choice_kind::nmi:
      r.function = "NMI";
      r.what = fmt::format("perf sample: perf_get_page_size({:#x})", cfg_.prog.addresses[c.arg]);
      break;
    case choice_kind::evict:
      r.function = "TLB";
      r.what = fmt::format("evicts every entry covering {:#x}", cfg_.prog.addresses[c.arg]);
      break;
  }
  return r;
}

std::vector<std::uint64_t> execution::event_inputs(const choice& o) {
  std::vector<std::uint64_t> in;
  if (o.kind == choice_kind::walk)
    in = kern::speculative_walk_inputs(k_, o.actor, cfg_.prog.addresses[o.arg]);
  else if (o.kind == choice_kind::land)
    in.push_back(k_.cpus[o.actor].pending_invalidations.size());
  in.push_back(k_.vcpu.preempted(o.actor) ? 1 : 0);
  return in;
}

void execution::make(const choice& c) {
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
    case choice_kind::evict:
      k_.cpus.at(c.actor).tlb.evict(cfg_.prog.addresses.at(c.arg));
      break;
    case choice_kind::nmi:
      k_.eng.explore_nmi(c.actor, kern::perf_nmi(k_, c.actor, cfg_.prog.addresses.at(c.arg)), at);
      last_ = c.actor;
      break;
    case choice_kind::land: {
      auto& pending = k_.cpus.at(c.actor).pending_invalidations;
      k_.cpus[c.actor].tlb.apply(pending.front());
      pending.erase(pending.begin());
      break;
    }
  }
  kern::wake_futile_retries(k_);
  if (record_) log_.push_back(std::move(rec));
}

void execution::advance(const choice& c) {
  // The engine refuses a step or IRQ that is not enabled; a preempted vCPU is the
  // explorer's own state, checked here (the full options are not computed).
  if (c.actor < k_.ncpus() && k_.vcpu.preempted(c.actor) &&
      (c.kind == choice_kind::step || c.kind == choice_kind::irq))
    throw std::logic_error("model nondeterminism: a replayed step of a preempted vCPU");
  if (c.kind == choice_kind::land && k_.cpus.at(c.actor).pending_invalidations.empty())
    throw std::logic_error("model nondeterminism: a replayed landing with nothing pending");
  make(c);
}

void execution::apply(const choice& c, commute_mask* indep) {
  // The reduction's view of c: which options it commutes with (see execution.h).
  const auto event_elsewhere = [&c](const choice& o) {
    return footprint_event(o) && o.actor != c.actor;
  };
  // Per option before c (members, so their storage is reused from step to step).
  std::vector<choice>& before_options = measured_.options;
  std::vector<std::vector<std::uint64_t>>& before = measured_.inputs;
  std::vector<std::int8_t>& could_move = measured_.could_move;
  const bool measure = indep && (c.kind == choice_kind::step || c.kind == choice_kind::irq) &&
                       std::any_of(options_.begin(), options_.end(), event_elsewhere);
  if (indep) {
    indep->assign(options_.size(), 0);
    if (footprint_event(c))
      for (std::size_t j = 0; j < options_.size(); ++j) (*indep)[j] = event_elsewhere(options_[j]);
  }
  if (measure) {
    before_options.assign(options_.begin(), options_.end());
    for (auto& in : before) in.clear();
    before.resize(options_.size());
    could_move.assign(options_.size(), -1);
    for (std::size_t j = 0; j < options_.size(); ++j) {
      const choice& o = options_[j];
      if (!event_elsewhere(o)) continue;
      if (o.kind == choice_kind::preempt)
        could_move[j] = enabled_[o.actor];
      else
        before[j] = event_inputs(o);
    }
    k_.mem.log = {true, 0, false};
    k_.vcpu.clear_read_log();
  }
  const bool was_running = running_;
  const bool woke_before = woke_;
  // Whether c costs a preemption here as it would after a preemption of another vCPU
  // (which ends any free switch): then the two orders cost the same.
  const bool cost_kept = [&] {
    if (!measure || !woke_) return true;
    const auto cont = continuation();
    return !cont || *cont == c;
  }();
  make(c);
  const mm::access_log touched = k_.mem.log;
  k_.mem.log = {};
  const std::uint64_t vcpu_reads = k_.vcpu.read_log();
  compute_options();
  // A TLB-only event enables and disables no actor, so it leaves a free switch free (the
  // orders of it and a step then cost the same).
  if (tlb_only(c)) woke_ = woke_before;
  if (!measure) return;
  const auto bit = [](unsigned cpu) { return std::uint64_t{1} << (cpu < 64 ? cpu : 63); };
  for (std::size_t j = 0; j < before_options.size(); ++j) {
    const choice& o = before_options[j];
    if (could_move[j] >= 0) {
      // Commutes unless the step read that vCPU's steal-time state (kvm_flush_tlb_multi),
      // made it able or unable to move, ended the program (no more hardware events), or
      // the two orders differ in cost: a preemption ends a free switch, so the step must
      // cost here what it costs after one, and must not open a free switch itself.
      (*indep)[j] = !(vcpu_reads & bit(o.actor)) && running_ == was_running &&
                    enabled_[o.actor] == could_move[j] && cost_kept && !woke_ &&
                    std::find(options_.begin(), options_.end(), o) != options_.end();
      continue;
    }
    if (before[j].empty()) continue;  // not an event on another CPU
    const bool tlb_touched = touched.tlbs & bit(o.actor);
    (*indep)[j] = !tlb_touched && !touched.holders_read && running_ == was_running &&
                  event_inputs(o) == before[j];
  }
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
