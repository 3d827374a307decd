// Context switches as the MMU sees them (kernel/sched/core.c context_switch): a user task
// switches the mm; idle and kthreads borrow the previous mm lazily (enter_lazy_tlb).
#include "kernel/paths.h"

namespace sd::kern {

namespace {

// sched:sched_switch, traced in the switched-from task's context before its perf events are
// scheduled out (kernel/sched/core.c __schedule): host's switches_out.
void note_switch_out(kernel& k, unsigned cpu) {
  if (k.cpus[cpu].perf_task) ++k.stats.switches_out_in_task;
}

// The MMU half of a switch to `mm` (context_switch -> switch_mm_irqs_off, IRQs off).
sim::task<> load_mm(kernel& k, unsigned cpu, mm::mm_struct& mm) {
  hw::cpu& c = k.cpus[cpu];
  c.current_mm = &mm;
  c.mode = hw::cpu_mode::kernel;
  k.local_irq_disable(cpu);
  co_await k.arch->switch_mm_irqs_off(k, cpu, mm);
  k.local_irq_enable(cpu);
}

}  // namespace

sim::task<> kthread_use_mm(kernel& k, unsigned cpu, mm::mm_struct& mm) {
  note_switch_out(k, cpu);
  k.cpus[cpu].perf_task = false;  // the kthread itself switches: it is not the workload
  co_await load_mm(k, cpu, mm);
}

sim::task<> switch_to_task(kernel& k, unsigned cpu, mm::mm_struct& mm) {
  // switch_mm_irqs_off traces in the context of the task switched from: between a parent
  // and its child, whose perf contexts are clones, perf_event_context_sched_out
  // (kernel/events/core.c) swaps the contexts without scheduling their events out, so a
  // workload task's switch to another counts as its own (perf_task as it was); from idle,
  // the new task's events start only in finish_task_switch, after the switch.
  note_switch_out(k, cpu);
  co_await load_mm(k, cpu, mm);
  k.cpus[cpu].mode = hw::cpu_mode::user;
  k.cpus[cpu].perf_task = true;
}

sim::task<> switch_to_idle(kernel& k, unsigned cpu) {
  hw::cpu& c = k.cpus[cpu];
  note_switch_out(k, cpu);
  c.perf_task = false;  // idle's own work (leave_mm below) is not the workload's
  co_await k.step(cost::param::switch_mm);
  c.current_mm = nullptr;
  k.arch->enter_lazy_tlb(k, cpu);
  c.mode = hw::cpu_mode::idle;
  // drivers/idle/intel_idle.c: entering a state with CPUIDLE_FLAG_TLB_FLUSHED calls
  // leave_mm() (arch/x86/mm/tlb.c): the CPU switches to init_mm and is no longer lazy.
  if (k.cfg.idle_tlb_flushed && k.arch->is_x86()) co_await leave_mm(k, cpu);
}

sim::task<> leave_mm(kernel& k, unsigned cpu) {
  if (k.cpus[cpu].loaded_mm == &k.init_mm()) co_return;
  k.local_irq_disable(cpu);
  co_await k.arch->switch_mm_irqs_off(k, cpu, k.init_mm());
  k.local_irq_enable(cpu);
}

sim::task<> idle_run(kernel& k, unsigned cpu, sim::sim_time ns) {
  k.cpus[cpu].mode = hw::cpu_mode::idle;
  co_await k.eng.run_interruptible(ns);
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
}

sim::engine::step_awaiter user_run(kernel& k, unsigned cpu, sim::sim_time ns) {
  k.cpus[cpu].mode = hw::cpu_mode::user;
  return k.eng.run_interruptible(ns);
}

}  // namespace sd::kern
