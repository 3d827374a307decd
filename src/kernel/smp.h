// kernel/smp.c: cross-CPU function calls. A sender queues a call_single_data on each
// target's call-single queue, sends the IPI only when that queue was empty, optionally
// runs the function locally with IRQs off (on_each_cpu_*), and with wait spins until every
// target ran it. A target runs queued functions in hardirq context, i.e. only at a point
// where its IRQs are enabled.
#pragma once
#include <functional>

#include "kernel/kernel.h"
#include "mm/cpumask.h"

namespace sd::kern {

using smp_call_func_t = std::function<sim::task<>(kernel&, unsigned cpu)>;
using smp_cond_func_t = std::function<bool(unsigned cpu)>;

enum class ipi_kind { tlb_flush, table_sync, other };

struct call_single_data {
  const smp_call_func_t* func = nullptr;
  ipi_kind kind = ipi_kind::other;  // what the call is (the callback), for the per-CPU counts
  int pending = 0;
  sim::wait_queue done;
};

// smp_call_function_many_cond(). `mask` null means every online CPU. `cond` empty means all.
// The sender is never a remote target; with run_local it runs func itself (on_each_cpu_*).
sim::task<> smp_call_function_many_cond(kernel& k, unsigned cpu, const mm::cpumask* mask,
                                        smp_call_func_t func, smp_cond_func_t cond, bool run_local,
                                        ipi_kind kind, unsigned* remote_targets = nullptr);

// on_each_cpu_mask(mask, func, wait=true)
inline sim::task<> on_each_cpu_mask(kernel& k, unsigned cpu, const mm::cpumask& mask,
                                    smp_call_func_t func, ipi_kind kind,
                                    unsigned* remote_targets = nullptr) {
  return smp_call_function_many_cond(k, cpu, &mask, std::move(func), {}, true, kind,
                                     remote_targets);
}
// on_each_cpu_cond_mask(cond, func, wait=true, mask)
inline sim::task<> on_each_cpu_cond_mask(kernel& k, unsigned cpu, smp_cond_func_t cond,
                                         smp_call_func_t func, const mm::cpumask& mask,
                                         ipi_kind kind, unsigned* remote_targets = nullptr) {
  return smp_call_function_many_cond(k, cpu, &mask, std::move(func), std::move(cond), true, kind,
                                     remote_targets);
}
// smp_call_function(func, wait=true): all online CPUs but the caller.
inline sim::task<> smp_call_function(kernel& k, unsigned cpu, smp_call_func_t func, ipi_kind kind) {
  return smp_call_function_many_cond(k, cpu, nullptr, std::move(func), {}, false, kind);
}

// The IRQ a call-function IPI raises (engine irq entry for CPU actors).
sim::task<> generic_smp_call_function_interrupt(kernel& k, unsigned cpu);

}  // namespace sd::kern
