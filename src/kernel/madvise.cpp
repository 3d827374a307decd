// madvise(MADV_DONTNEED) (mm/madvise.c madvise_dontneed_single_vma -> zap_page_range_single):
// under mmap_lock read, a gather per VMA around unmap_single_vma, with reclaim_pt set (PT_RECLAIM
// frees the PTE tables it empties whole). The will-it-scale
// tlb_flush2 loop is one page at a time: every call flushes one page on every CPU running
// the mm.
#include <algorithm>

#include "check/invariants.h"
#include "kernel/paths.h"
#include "kernel/zap.h"

namespace sd::kern {

sim::task<> sys_madvise_dontneed(kernel& k, unsigned cpu, mm::va_t start, mm::va_t len) {
  trace_scope ts(k, cpu, "madvise_dontneed");
  mm::mm_struct& mm = *k.cpus[cpu].current_mm;
  const mm::va_t end = start + len;
  k.cpus[cpu].mode = hw::cpu_mode::kernel;
  co_await k.step(cost::param::syscall_entry);
  const std::uint64_t seq0 = mm.pte_change_seq;
  co_await mm.mmap_lock.down_read(k.eng, k.c(cost::param::atomic));
  vma_list targets;
  for (auto& vma : mm.vmas_overlapping(start, end))
    if (vma->kind == mm::vma_kind::anon) targets.push_back(vma);
  for (const auto& vma : targets) {
    mm::mmu_gather tlb;
    mm::tlb_gather_mmu(tlb, mm, false);
    co_await unmap_single_vma(k, cpu, tlb, *vma, std::max(start, vma->vm_start),
                              std::min(end, vma->vm_end), /*reclaim_pt=*/true);
    co_await mm::tlb_finish_mmu(k, cpu, tlb);
  }
  mm.mmap_lock.up_read(k.eng);
  // The call's contract: once it returns, no CPU running the mm reaches the zapped pages,
  // even when a concurrent zap cleared the PTEs first and still holds their flush (the
  // nested-gather case, mm/mmu_gather.c tlb_finish_mmu).
  check::flush_completed(k, cpu, mm, start, end, seq0, "madvise(MADV_DONTNEED)");
  k.cpus[cpu].mode = hw::cpu_mode::user;
}

}  // namespace sd::kern
