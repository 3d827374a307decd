// struct mm_struct and struct vm_area_struct, reduced to what the flush and table-freeing
// paths read and write (include/linux/mm_types.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mm/cpumask.h"
#include "mm/locks.h"
#include "mm/pgtable.h"

namespace sd::mm {

struct mm_struct;

// struct address_space of a hugetlbfs file: its page cache of 2 MiB pages and the VMAs that
// map it (the i_mmap interval tree), guarded by i_mmap_rwsem.
struct vm_area_struct;
struct address_space {
  std::uint32_t id = 0;
  rw_semaphore i_mmap_rwsem;
  std::vector<vm_area_struct*> i_mmap;
  std::map<std::uint64_t, pfn_t> pages;  // file offset / 2 MiB -> huge page
};

enum class vma_kind : std::uint8_t { anon, hugetlb };

struct vm_area_struct {
  va_t vm_start = 0;
  va_t vm_end = 0;
  mm_struct* vm_mm = nullptr;
  vma_kind kind = vma_kind::anon;
  bool prot_none = false;         // PROT_NONE (else read+write)
  address_space* file = nullptr;  // hugetlb: the file, mapped MAP_SHARED (VM_MAYSHARE)
  va_t pgoff = 0;                 // hugetlb: byte offset in the file of vm_start
  bool detached = false;          // unlinked by munmap; a fault that raced must back off
  rw_semaphore vm_lock;           // per-VMA lock (lock_vma_under_rcu / vma_start_write)
};

struct mm_struct {
  std::uint32_t id = 0;  // also the arm64 ASID and the x86 context.ctx_id
  std::string name;
  pfn_t pgd = 0;
  std::map<va_t, std::shared_ptr<vm_area_struct>> vmas;  // by vm_start
  cpumask cpumask_;  // mm_cpumask(); x86 only (arm64 does not maintain it)
  // Model bookkeeping, not a kernel field: the CPUs whose loaded_mm this is (hw::cpu::load_mm),
  // so a check after a flush visits them and not every CPU of the machine.
  cpumask loaded_on;
  std::uint64_t tlb_gen = 1;  // x86 context.tlb_gen: bumped by every flush request
  int tlb_flush_pending = 0;  // gathers in flight (inc/dec_tlb_flush_pending)
  rw_semaphore mmap_lock;
  spinlock page_table_lock;
  int users = 0;  // threads that still use the mm (mm_users)
  // x86 context.next_trim_cpumask: jiffies + HZ at init_new_context (t = 0 here).
  std::int64_t next_trim_cpumask = 1'000'000'000;
  bool exited = false;
  // Bumped by every change of a PTE or table entry that a flush must cover. A flush that
  // saw it change while it ran cannot tell stale entries from ones a concurrent, not yet
  // flushed change left behind, so the stale-translation check skips it (no false alarm).
  std::uint64_t pte_change_seq = 0;
  // x86 INVLPGB: the global ASID (0: none) and whether CPUs may still use a dynamic one.
  std::uint32_t global_asid = 0;
  bool asid_transition = false;
  // Page tables withdrawn by khugepaged collapse, kept for a later split (pmd_huge_pte).
  std::map<va_t, pfn_t> deposited;

  explicit mm_struct(std::size_t ncpus) : cpumask_(ncpus), loaded_on(ncpus) {}
  // The tree's entry for the VMA containing addr, or vmas.end().
  auto vma_entry(va_t addr) const {
    auto it = vmas.upper_bound(addr);
    if (it == vmas.begin()) return vmas.end();
    --it;
    return addr < it->second->vm_end ? it : vmas.end();
  }
  // find_vma(): the VMA containing addr, or null.
  vm_area_struct* find_vma(va_t addr) const {
    const auto it = vma_entry(addr);
    return it == vmas.end() ? nullptr : it->second.get();
  }
  // The VMAs overlapping [start, end), in address order, found through the tree by address
  // (the kernel's VMA iterator over the maple tree) instead of visiting every VMA.
  std::vector<std::shared_ptr<vm_area_struct>> vmas_overlapping(va_t start, va_t end) const {
    std::vector<std::shared_ptr<vm_area_struct>> out;
    auto it = vmas.upper_bound(start);
    if (it != vmas.begin() && std::prev(it)->second->vm_end > start) --it;
    for (; it != vmas.end() && it->first < end; ++it) out.push_back(it->second);
    return out;
  }
};

}  // namespace sd::mm
