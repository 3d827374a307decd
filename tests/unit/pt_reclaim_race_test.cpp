// Races with PT_RECLAIM's unhook of a PTE table (mm/memory.c, mm/pgtable-generic.c, 2026 mm
// tree): which table the slow path reclaims (zap_pte_table_if_empty), what keeps the table
// alive while a fault waits for its lock (the RCU section of pte_offset_map_lock), and what
// keeps the retry from walking into the unhooked table again on x86 (a page fault drops the
// paging-structure-cache entries for the address, Intel SDM 3A 4.10.4.1).
#include <gtest/gtest.h>

#include <stdexcept>

#include "machine_fixture.h"
#include "mm/pt_lookup.h"
#include "mm/ptlock.h"

namespace sd::test {
namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t A = 4 * GiB;  // one PTE table
constexpr va_t region = 2 * mm::PMD_SIZE;

mm::pfn_t pmd_table_of(kernel& k, const mm::mm_struct& mm) {
  const mm::pt_entry* pud = mm::lookup_entry(k.mem, mm, A, mm::level::pud);
  if (!pud) throw std::logic_error("the region is not mapped yet");
  return pud->pfn;
}

// The process's first steps on `cpu`: run its mm, map the region, write to A (so A's PTE
// table exists and the CPU's walk cache points at it).
sim::task<> map_and_touch(kernel& k, unsigned cpu, mm::mm_struct& mm) {
  co_await kern::switch_to_task(k, cpu, mm);
  co_await kern::sys_mmap(k, cpu, A, region);
  co_await kern::user_access(k, cpu, A, true);
}

struct outcome {
  mm::pfn_t first = 0;   // the PTE table CPU 0 zaps
  mm::pfn_t second = 0;  // the empty table that replaced it while CPU 0 waited
  mm::pt_entry pmd_after;
  mm::frame_kind second_after = mm::frame_kind::pgtable;
};

// CPU 0 maps the region and touches two pages of A's PTE table. From 99 us to 119 us CPU 1
// holds the lock of the PMD table, so CPU 0's MADV_DONTNEED of A's 2 MiB at 100 us zaps both
// pages but fails the fast path's trylock and waits for the lock. When `replace`, CPU 1 does,
// under that lock, what another MADV_DONTNEED's PT_RECLAIM and a fault's pmd_install would:
// it unhooks the emptied table and installs a new, empty one (the unhooked table is left
// allocated: nothing in this test frees it, where the other MADV_DONTNEED's gather would).
outcome reclaim_after_replacement(bool replace) {
  machine m("x86", 2);
  mm::mm_struct& mm = m.k->new_mm("proc");
  outcome out;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await map_and_touch(k, cpu, mm);
    co_await kern::user_access(k, cpu, A + mm::PAGE_SIZE, true);
    out.first = mm::lookup_entry(k.mem, mm, A, mm::level::pmd)->pfn;
    co_await kern::user_run(k, cpu, 100'000 - k.eng.now());
    co_await kern::sys_madvise_dontneed(k, cpu, A, mm::PMD_SIZE);
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 99'000);  // CPU 0 has mapped and touched by now
    const mm::pfn_t pmd_table = pmd_table_of(k, mm);
    mm::spinlock& pml = mm::pmd_lockptr(k.mem, pmd_table);
    co_await pml.lock(k.eng, 0);
    co_await k.eng.step(20'000, "hold the PMD lock");
    co_await k.eng.step(1, "replace the table and unlock");
    if (replace) {
      mm::pt_entry& pmd = k.mem.table(pmd_table).e[mm::pt_index(A, 2)];
      EXPECT_EQ(pmd.pfn, out.first);
      out.second = k.mem.alloc_table(mm::level::pte, mm.id);
      pmd = {out.second, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER};
      ++mm.pte_change_seq;
    }
    pml.unlock(k.eng);
  });
  m.run();
  out.pmd_after = *mm::lookup_entry(m.k->mem, mm, A, mm::level::pmd);
  if (out.second) out.second_after = m.k->mem[out.second].kind;
  return out;
}

TEST(PtReclaim, TheSlowPathReclaimsTheEmptyTableThePmdHoldsNow) {
  // Nothing replaced: the slow path reclaims the table it zapped.
  const outcome same = reclaim_after_replacement(false);
  ASSERT_NE(same.first, 0u);
  EXPECT_TRUE(same.pmd_after.none());

  // Replaced: the new table is empty, so it is unhooked and freed (through the gather).
  const outcome other = reclaim_after_replacement(true);
  ASSERT_NE(other.second, 0u);
  ASSERT_NE(other.second, other.first);
  EXPECT_TRUE(other.pmd_after.none());
  EXPECT_EQ(other.second_after, mm::frame_kind::free);
}

// CPU 0 touches A, then at 110 us writes A + 4 KiB, which faults in A's PTE table. From
// 100 us CPU 1 holds that table's lock; at 120 us it unhooks the table (as PT_RECLAIM does,
// under the lock) and queues its free after a grace period (3 ms), and it lets go of the lock
// only at 4 ms. The fault waits for the lock all that time: its RCU section must hold the
// grace period off until it has rechecked the PMD and let go of the lock, or the table is
// freed under it ("model bug: a page table freed with its lock held"). Returns the faults
// CPU 0 took for the write (it resolves after the table is gone, in a new one).
std::uint64_t fault_while_the_table_is_unhooked(const char* arch) {
  machine m(arch, 2);
  mm::mm_struct& mm = m.k->new_mm("proc");
  std::uint64_t faults = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await map_and_touch(k, cpu, mm);
    co_await kern::user_run(k, cpu, 110'000 - k.eng.now());
    const std::uint64_t before = k.stats.page_faults;
    if (!co_await kern::user_access(k, cpu, A + mm::PAGE_SIZE, true))
      throw std::logic_error("the write did not resolve");
    faults = k.stats.page_faults - before;
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 100'000);
    const mm::pfn_t pmd_table = pmd_table_of(k, mm);
    const mm::pfn_t table = mm::lookup_entry(k.mem, mm, A, mm::level::pmd)->pfn;
    mm::spinlock& ptl = mm::pte_lockptr(k.mem, table);
    co_await ptl.lock(k.eng, 0);
    co_await k.eng.step(20'000, "hold the PTE lock");
    co_await k.eng.step(1, "unhook the table");
    mm::spinlock& pml = mm::pmd_lockptr(k.mem, pmd_table);
    co_await pml.lock(k.eng, 0);
    k.mem.table(pmd_table).e[mm::pt_index(A, 2)] = {};
    ++mm.pte_change_seq;
    pml.unlock(k.eng);
    // The page it mapped goes with it (nothing flushes CPU 0's TLB entry for A: the test
    // does not access A again).
    mm::pt_entry& pte = k.mem.table(table).e[mm::pt_index(A, 1)];
    k.mem.free(pte.pfn);
    pte = {};
    k.rcu.call_rcu(k.eng, [table](kernel& kk) { kk.mem.free(table); });
    co_await k.eng.step(4'000'000 - k.eng.now(), "hold the PTE lock past a grace period");
    co_await k.eng.step(1, "unlock");
    ptl.unlock(k.eng);
  });
  m.run();
  return faults;
}

TEST(FaultRace, TheFaultsRcuSectionKeepsTheTableItWaitsToLock) {
  for (const char* arch : {"x86", "arm64"}) {
    SCOPED_TRACE(arch);
    // The first fault finds the table gone when it gets the lock and returns; the access
    // faults again and allocates a new table.
    EXPECT_EQ(fault_while_the_table_is_unhooked(arch), 2u);
  }
}

// CPU 0 touches A, so its walk cache holds A's PTE table. Then the PMD gets a new PTE table
// that maps A + 4 KiB, as after PT_RECLAIM unhooked the old one and a fault on another CPU
// installed the new one, and nothing has flushed CPU 0 yet. CPU 0 writes A + 4 KiB: the walk
// starts from the cached entry, finds the old table empty and faults; the fault finds the
// page mapped (spurious). On x86 the fault dropped the cached entry, so the access after it
// walks from CR3 and hits: one fault. Returns CPU 0's faults for the write.
std::uint64_t access_through_a_stale_walk_cache_entry() {
  machine m("x86", 1);
  mm::mm_struct& mm = m.k->new_mm("proc");
  std::uint64_t faults = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await map_and_touch(k, cpu, mm);
    mm::pt_entry& pmd = k.mem.table(pmd_table_of(k, mm)).e[mm::pt_index(A, 2)];
    const mm::pfn_t fresh = k.mem.alloc_table(mm::level::pte, mm.id);
    k.mem.table(fresh).e[mm::pt_index(A + mm::PAGE_SIZE, 1)] = {
        k.mem.alloc_data(),
        mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_ACCESSED | mm::_PAGE_DIRTY};
    pmd = {fresh, mm::_PAGE_PRESENT | mm::_PAGE_RW | mm::_PAGE_USER};
    ++mm.pte_change_seq;
    const std::uint64_t before = k.stats.page_faults;
    if (!co_await kern::user_access(k, cpu, A + mm::PAGE_SIZE, true))
      throw std::logic_error("the write did not resolve");
    faults = k.stats.page_faults - before;
  });
  m.run();
  return faults;
}

TEST(FaultRace, AnX86FaultDropsTheWalkCacheEntriesForTheAddress) {
  EXPECT_EQ(access_through_a_stale_walk_cache_entry(), 1u);
}

}  // namespace
}  // namespace sd::test
