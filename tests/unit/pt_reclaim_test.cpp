// PT_RECLAIM's slow path (mm/memory.c zap_pte_table_if_empty, 2026 mm tree): after the PTE
// lock was dropped, MADV_DONTNEED takes the PMD lock and reclaims the PTE table the PMD holds
// then, if every entry is none. That can be another table than the one it zapped: one that a
// fault installed after another PT_RECLAIM unhooked the first (the caller frees
// pmd_pgtable(pmdval), the table read under the lock).
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
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::sys_mmap(k, cpu, A, region);
    co_await kern::user_access(k, cpu, A, true);
    co_await kern::user_access(k, cpu, A + mm::PAGE_SIZE, true);
    out.first = mm::lookup_entry(k.mem, mm, A, mm::level::pmd)->pfn;
    co_await kern::user_run(k, cpu, 100'000 - k.eng.now());
    co_await kern::sys_madvise_dontneed(k, cpu, A, mm::PMD_SIZE);
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 99'000);  // CPU 0 has mapped and touched by now
    const mm::pt_entry* pud = mm::lookup_entry(k.mem, mm, A, mm::level::pud);
    if (!pud) throw std::logic_error("CPU 0 has not mapped the region by 99 us");
    const mm::pfn_t pmd_table = pud->pfn;
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

}  // namespace
}  // namespace sd::test
