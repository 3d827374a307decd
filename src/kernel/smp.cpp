#include "kernel/smp.h"

#include <algorithm>
#include <vector>

namespace sd::kern {

sim::task<> smp_call_function_many_cond(kernel& k, unsigned cpu, const mm::cpumask* mask,
                                        smp_call_func_t func, smp_cond_func_t cond, bool run_local,
                                        ipi_kind kind, unsigned* remote_targets) {
  std::vector<unsigned> targets;
  bool local = false;
  std::int64_t evaluated = 0;
  auto consider = [&](unsigned t) {
    if (cond) ++evaluated;
    if (cond && !cond(t)) return;
    if (t == cpu)
      local = run_local;
    else
      targets.push_back(t);
  };
  if (mask) {
    mask->for_each(consider);
  } else {
    for (unsigned t = 0; t < k.ncpus(); ++t)
      if (t != cpu) consider(t);
  }
  // The predicate reads each candidate's per-CPU state remotely.
  if (evaluated) co_await k.step(cost::param::remote_read, evaluated);

  if (remote_targets) *remote_targets = static_cast<unsigned>(targets.size());
  if (k.trace && !targets.empty())
    k.trace->instant(cpu, "ipi_send_cpumask", k.eng.now(),
                     {{"targets", std::to_string(targets.size())},
                      {"callsite", kind == ipi_kind::tlb_flush    ? "flush_tlb_func"
                                   : kind == ipi_kind::table_sync ? "tlb_remove_table_smp_sync"
                                                                  : "other"}});
  if (kind == ipi_kind::table_sync && !targets.empty()) ++k.stats.sync_broadcasts;
  call_single_data csd;
  csd.func = &func;
  csd.kind = kind;
  csd.pending = static_cast<int>(targets.size());
  const csd_id id = targets.empty() ? 0 : k.csds.add(&csd);
  const bool pv = !k.pv_send_ipi.empty();  // x86-kvm: sent through the send-IPI hypercall
  if (!targets.empty()) {
    co_await k.step_ns(k.c(cost::param::ipi_send) + k.c(cost::param::ipi_per_target) *
                                                        static_cast<std::int64_t>(targets.size()),
                       "send IPIs");
    const sim::sim_time returns = k.eng.step_end();
    const sim::sim_time arrival = returns + k.c(cost::param::ipi_delivery);
    sim::sim_time posted = 0;
    if (pv) {
      posted = std::max(k.eng.now(), returns - k.c(cost::param::ipi_post_lead));
      pv_send_ipi_cpu& self = k.pv_send_ipi[cpu];
      self.hypercall_end = returns;
      // An interrupt posted to this CPU before its own hypercall returns is taken on return.
      if (self.posted_at < returns) k.eng.raise_irq(cpu, returns);
    }
    // kernel/smp.c: llist_add() to each target's queue; only a target whose queue was empty
    // needs an IPI (the others' handlers will find this call too). nr_cpus counts those.
    std::size_t nr_cpus = 0;
    for (unsigned t : targets) {
      // kernel/smp.c traces csd:csd_queue_cpu here, per target, before llist_add (v6.5+).
      if (kind == ipi_kind::tlb_flush) ++k.stats.csd_queued_flush;
      if (kind == ipi_kind::table_sync) ++k.stats.csd_queued_sync;
      if (k.cpus[cpu].perf_task) {  // traced in the sender's context
        if (kind == ipi_kind::tlb_flush) ++k.stats.csd_queued_flush_in_task;
        if (kind == ipi_kind::table_sync) ++k.stats.csd_queued_sync_in_task;
      }
      auto& q = k.call_single_queue[t];
      const bool was_empty = q.empty();
      q.push_back(id);
      if (was_empty) targets[nr_cpus++] = t;  // the first nr_cpus become cfd->cpumask_ipi
    }
    for (std::size_t i = 0; i < nr_cpus; ++i) {
      const unsigned t = targets[i];
      // nr_cpus == 1 goes through send_call_function_single_ipi(), which only sets
      // TIF_NEED_RESCHED when that CPU's idle loop polls (set_nr_if_polling); the idle loop
      // then runs the queue (flush_smp_call_function_queue) without an interrupt.
      if (nr_cpus == 1 && k.cfg.idle_poll && k.cpus[t].mode == hw::cpu_mode::idle) {
        k.cpus[t].polled_wakeup = true;
        ++k.stats.idle_polled_wakeups;
        k.eng.raise_irq(t, arrival);
        continue;
      }
      ++k.stats.ipis_sent;
      if (k.trace) k.trace->ipi_sent(cpu, t, k.eng.now());
      if (kind == ipi_kind::tlb_flush) ++k.stats.flush_ipis;
      if (kind == ipi_kind::table_sync) ++k.stats.sync_ipis;
      sim::sim_time at = arrival;
      if (pv) {
        pv_send_ipi_cpu& target = k.pv_send_ipi[t];
        if (target.hypercall_end > posted) at = std::min(at, target.hypercall_end);
        target.posted_at = std::min(target.posted_at, posted);
      }
      k.eng.raise_irq(t, at);
    }
  }
  // On x86-kvm the vCPU re-enters the guest here with IRQs on (local_irq_save comes after):
  // an interrupt posted meanwhile is taken before the local call. simulate only: check
  // places no interrupt between the send and the local call (on any arch), and a step here
  // would grow every x86-kvm exploration by that choice.
  if (pv && !targets.empty() && k.eng.timed())
    co_await k.step_ns(0, "return from the send-IPI hypercall");
  if (local) {
    const bool was_off = k.irqs_disabled(cpu);
    k.local_irq_disable(cpu);
    co_await func(k, cpu);
    if (!was_off) k.local_irq_enable(cpu);
  }
  while (csd.pending > 0) co_await k.eng.wait(csd.done);
  if (!targets.empty()) k.csds.release(id);
}

sim::task<> generic_smp_call_function_interrupt(kernel& k, unsigned cpu) {
  hw::cpu& c = k.cpus[cpu];
  const sim::sim_time entered = k.eng.step_end();
  k.local_irq_disable(cpu);
  const hw::cpu_mode interrupted = c.mode;
  c.mode = hw::cpu_mode::kernel;
  trace_scope ts(k, cpu, "ipi:call_function");
  if (k.trace) k.trace->ipi_handled(cpu, k.eng.step_end());
  co_await k.step(cost::param::irq_entry);
  if (c.polled_wakeup)
    c.polled_wakeup = false;  // woken from the polling idle loop: no interrupt was taken
  else
    ++k.stats.ipis_received_per_cpu[cpu];
  k.eng.clear_irq(cpu);
  if (!k.pv_send_ipi.empty()) k.pv_send_ipi[cpu].posted_at = sim::never;
  metrics::isolated_noise* noise = c.nohz_full ? &k.stats.noise_per_isolated_cpu[cpu] : nullptr;
  // Only the calls queued by now: one queued while these run sends its own IPI
  // (kernel/call_queue.h).
  const std::span<const csd_id> calls = k.call_single_queue[cpu].del_all();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    call_single_data* csd = k.csds[calls[i]];
    // Each call lives in its sender's frame and its callback in another object: with
    // thousands of senders, both loads miss the cache. Fetch them for the next calls now.
    if (i + 2 < calls.size()) __builtin_prefetch(k.csds[calls[i + 2]]);
    if (i + 1 < calls.size()) __builtin_prefetch(k.csds[calls[i + 1]]->func);
    if (noise)
      ++(csd->kind == ipi_kind::tlb_flush    ? noise->flush_calls
         : csd->kind == ipi_kind::table_sync ? noise->sync_calls
                                             : noise->other_calls);
    co_await (*csd->func)(k, cpu);
    if (--csd->pending == 0) k.eng.wake_all(csd->done);
  }
  c.mode = interrupted;
  if (noise) {
    const sim::sim_time spent = k.eng.step_end() - entered;
    ++k.stats.ipis_to_isolated;
    k.stats.isolated_irq_ns += spent;
    ++noise->irqs;
    noise->total_ns += spent;
    noise->max_ns = std::max(noise->max_ns, spent);
  }
  k.local_irq_enable(cpu);
}

}  // namespace sd::kern
