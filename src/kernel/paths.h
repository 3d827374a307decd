// The modeled kernel paths a workload calls. Each runs on `cpu` in the context of the task
// running there (cpus[cpu].current_mm).
#pragma once
#include <memory>
#include <vector>

#include "kernel/kernel.h"

namespace sd::kern {

// kernel/sched/core.c context_switch(): to a thread of `mm`, or to idle/a kthread.
sim::task<> switch_to_task(kernel& k, unsigned cpu, mm::mm_struct& mm);
sim::task<> switch_to_idle(kernel& k, unsigned cpu);
// leave_mm() (arch/x86/mm/tlb.c): switch to init_mm with IRQs off unless already there.
sim::task<> leave_mm(kernel& k, unsigned cpu);
// kernel/kthread.c kthread_use_mm(): a kthread adopts mm with a non-lazy switch (IRQs off
// around switch_mm_irqs_off) and stays in kernel mode.
sim::task<> kthread_use_mm(kernel& k, unsigned cpu, mm::mm_struct& mm);

// A kthread sleeping (the CPU idles, interruptible by IPIs), then back in kernel mode.
sim::task<> idle_run(kernel& k, unsigned cpu, sim::sim_time ns);
// User-mode time with IRQs on (interruptible by IPIs): the engine's step itself, not a
// coroutine of its own, so that the run costs no frame (it is on every loop of the
// workloads' user threads).
sim::engine::step_awaiter user_run(kernel& k, unsigned cpu, sim::sim_time ns);
// One user load/store: TLB, else hardware walk, else page fault. False: SIGSEGV.
sim::task<bool> user_access(kernel& k, unsigned cpu, mm::va_t va, bool write);
// The MMU walking the loaded page tables on its own (speculation, prefetch): fills the TLB
// and the paging-structure caches for va under the loaded ASID, lazy CPUs included
// (kernel-mechanisms s12.1). No fault, no time. For check's hardware choices.
void speculative_walk(kernel& k, unsigned cpu, mm::va_t va);
// Whether that walk would fill an entry not already cached (else it changes nothing).
bool speculative_walk_fills(kernel& k, unsigned cpu, mm::va_t va);
// Everything that walk reads outside the CPU's TLB (the CPU's loaded mm and ASID, each
// table entry and frame generation on the way): equal before and after a step that did
// not touch the TLB means the walk does the same either side of it (check's reduction).
std::vector<std::uint64_t> speculative_walk_inputs(kernel& k, unsigned cpu, mm::va_t va);
// kernel/events/core.c perf_get_page_size(): the sampling NMI of a PERF_SAMPLE_DATA_PAGE_SIZE
// event walks current->mm's page tables locklessly with IRQs saved off (kernel-mechanisms
// s4, "other lockless walkers"). Context tracking is not changed by an NMI: on a nohz_full
// CPU it still reads user. For check's NMI choices.
sim::task<> perf_nmi(kernel& k, unsigned cpu, mm::va_t va);
// mm/memory.c handle_mm_fault() for anonymous memory. False: no VMA (SIGSEGV).
sim::task<bool> handle_mm_fault(kernel& k, unsigned cpu, mm::va_t va, bool write);
// Whether handle_mm_fault() on cpu, run now, would find the access already allowed by the
// page table and change nothing (a spurious fault). Reads only; for check's futile retries.
bool fault_would_be_spurious(kernel& k, unsigned cpu, mm::va_t va, bool write);
// check: wakes the CPUs that user_access() blocked because retrying their access could only
// repeat a spurious fault, once a step of another actor has changed that. The explorer
// calls it after every choice.
void wake_futile_retries(kernel& k);

// mmap(MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE) and munmap() of whole VMAs.
sim::task<> sys_mmap(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len);
sim::task<> sys_munmap(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len);
// exit_mmap() for the last user, then switch away and mmdrop() the pgd.
sim::task<> mmput_last(kernel& k, unsigned cpu);
// Inserts a prepared VMA (mmap_region): links file VMAs into the file's i_mmap.
sim::task<> mmap_region(kernel& k, unsigned cpu, std::shared_ptr<mm::vm_area_struct> vma);
// mmap(MAP_SHARED | MAP_FIXED) of a hugetlbfs file at byte offset pgoff (2 MiB pages).
sim::task<> sys_mmap_hugetlb(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len,
                             mm::address_space& file, mm::va_t pgoff);
// fork(): a new mm that copies (anon, write-protected for CoW) or shares (hugetlb PMD
// tables) the caller's mappings; the parent's TLB is flushed (dup_mmap).
sim::task<> sys_fork(kernel& k, unsigned cpu, mm::mm_struct& child);
// madvise(MADV_DONTNEED) of [start, start + len) of anonymous memory.
sim::task<> sys_madvise_dontneed(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len);
// mprotect(start, len, PROT_NONE or PROT_READ | PROT_WRITE) of whole VMAs.
sim::task<> sys_mprotect(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len, bool prot_none);
// ioctl(UFFDIO_MOVE): move len bytes of present anonymous pages from src to dst.
sim::task<> uffdio_move(kernel& k, unsigned cpu, mm::va_t dst, mm::va_t src, mm::va_t len);
// khugepaged collapse_huge_page() of the PMD range at haddr of mm, run by a kthread on cpu.
// Returns false when the collapse was abandoned (e.g. a page has extra references).
sim::task<bool> collapse_huge_page(kernel& k, unsigned cpu, mm::mm_struct& mm, mm::va_t haddr);

// mm/gup.c gup_fast(): lockless walk with IRQs off, speculative references, recheck.
// Appends pinned pages to `pages`; returns how many of nr_pages it pinned.
sim::task<long> gup_fast(kernel& k, unsigned cpu, mm::va_t start, unsigned nr_pages, bool write,
                         std::vector<mm::pfn_t>& pages);
void unpin_user_pages(kernel& k, std::vector<mm::pfn_t>& pages);

}  // namespace sd::kern
