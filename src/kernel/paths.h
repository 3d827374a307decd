// The modeled kernel paths a workload calls. Each runs on `cpu` in the context of the task
// running there (cpus[cpu].current_mm).
#pragma once
#include <vector>

#include "kernel/kernel.h"

namespace sd::kern {

// kernel/sched/core.c context_switch(): to a thread of `mm`, or to idle/a kthread.
sim::task<> switch_to_task(kernel& k, unsigned cpu, mm::mm_struct& mm);
sim::task<> switch_to_idle(kernel& k, unsigned cpu);

// User-mode time with IRQs on (interruptible by IPIs).
sim::task<> user_run(kernel& k, unsigned cpu, sim::sim_time ns);
// One user load/store: TLB, else hardware walk, else page fault. False: SIGSEGV.
sim::task<bool> user_access(kernel& k, unsigned cpu, mm::va_t va, bool write);
// mm/memory.c handle_mm_fault() for anonymous memory. False: no VMA (SIGSEGV).
sim::task<bool> handle_mm_fault(kernel& k, unsigned cpu, mm::va_t va, bool write);

// mmap(MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE) and munmap() of whole VMAs.
sim::task<> sys_mmap(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len);
sim::task<> sys_munmap(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len);
// exit_mmap() for the last user, then switch away and mmdrop() the pgd.
sim::task<> mmput_last(kernel& k, unsigned cpu);

// mm/gup.c gup_fast(): lockless walk with IRQs off, speculative references, recheck.
// Appends pinned pages to `pages`; returns how many of nr_pages it pinned.
sim::task<long> gup_fast(kernel& k, unsigned cpu, mm::va_t start, unsigned nr_pages, bool write,
                         std::vector<mm::pfn_t>& pages);
void unpin_user_pages(kernel& k, std::vector<mm::pfn_t>& pages);

}  // namespace sd::kern
