// Split page-table locks (mm/ptlock.h): a PTE table's entries are guarded by the table's own
// lock, so a fault in one 2 MiB range does not wait for a holder of another range's lock,
// while a fault in the held table does.
#include <gtest/gtest.h>

#include "machine_fixture.h"
#include "mm/pt_lookup.h"
#include "mm/ptlock.h"

namespace sd::test {
namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t A = 4 * GiB;               // one PTE table
constexpr va_t C = A + 4 * mm::PMD_SIZE;  // another PTE table, in the same PMD table
constexpr va_t region = 8 * mm::PMD_SIZE;
constexpr sim::sim_time hold = 10'000;

// CPU 0 maps the region and touches A and C, so both PTE tables exist. At 100 us, when
// `held`, CPU 0 takes the lock of A's PTE table and holds it for 10 us, while CPU 1 writes to
// `page`, which faults. Returns how long CPU 1's fault took.
sim::sim_time fault_time(va_t page, bool held) {
  machine m("x86", 2);
  mm::mm_struct& mm = m.k->new_mm("proc");
  sim::sim_time took = 0;
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::sys_mmap(k, cpu, A, region);
    co_await kern::user_access(k, cpu, A, true);
    co_await kern::user_access(k, cpu, C, true);
    co_await kern::user_run(k, cpu, 100'000 - k.eng.now());
    if (!held) co_return;
    mm::spinlock& ptl = mm::pte_lockptr(k.mem, mm::lookup_entry(k.mem, mm, A, mm::level::pmd)->pfn);
    co_await ptl.lock(k.eng, 0);
    co_await k.eng.step(hold, "hold the PTE lock");
    co_await k.eng.step(1, "unlock");  // runs when the holding step has ended
    ptl.unlock(k.eng);
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 50'000);  // CPU 0 has mapped and touched by now
    co_await kern::switch_to_task(k, cpu, mm);
    co_await kern::user_run(k, cpu, 100'000 - k.eng.now());
    const sim::sim_time start = k.eng.now();
    co_await kern::user_access(k, cpu, page, true);
    took = k.eng.now() - start;
  });
  m.run();
  return took;
}

TEST(PtLock, AFaultWaitsOnlyForTheLockOfItsOwnPteTable) {
  const va_t a1 = A + mm::PAGE_SIZE, c1 = C + mm::PAGE_SIZE;
  const sim::sim_time alone = fault_time(c1, false);
  ASSERT_GT(alone, 0);
  ASSERT_LT(alone, hold);
  // Another PTE table's lock is held: the fault takes as long as with nothing held.
  EXPECT_EQ(fault_time(c1, true), alone);
  // Its own table's lock is held: it waits until the holder lets go.
  EXPECT_EQ(fault_time(a1, false), alone);
  EXPECT_GT(fault_time(a1, true), hold);
}

}  // namespace
}  // namespace sd::test
