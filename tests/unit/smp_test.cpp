// kernel/smp.c cross-CPU calls on a 4-CPU x86 machine: which calls send an IPI.
//
// smp_call_function_many_cond() sends one only when llist_add() finds the target's queue
// empty, and the target's handler takes the whole queue at once (llist_del_all), so a call
// queued while the taken calls run sends an IPI of its own. Times follow the x86 cost
// preset: a sender's queueing happens in a send step of ipi_send + ipi_per_target = 500 ns
// for one target, whose effects happen when it begins; the IRQ arrives ipi_delivery = 700 ns
// after the step ends, and the handler takes the queue in its entry step, at 1,200 ns.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernel/smp.h"
#include "machine_fixture.h"

namespace sd::test {
namespace {

using kern::kernel;

// A call that returns `ns` after it starts. A step's effects happen when it begins (the
// engine charges its cost after them), so the return, and with it the handler's move to
// the next taken call, is a step of its own that begins `ns` later.
sim::task<> run_for(kernel& k, sim::sim_time ns) {
  co_await k.step_ns(ns, "call");
  co_await k.step_ns(1, "call returns");
}

TEST(Smp, ACallQueuedWhileTheHandlerRunsTakenCallsSendsItsOwnIpi) {
  machine m("x86", 4);
  mm::cpumask target(4);
  target.set(3);
  std::vector<unsigned> ran;  // which sender's call ran on CPU 3, in order
  auto send_at = [&](unsigned sender, sim::sim_time at, sim::sim_time call_length) {
    m.start(sender, [&, sender, at, call_length](kernel& k, unsigned cpu) -> sim::task<> {
      if (at) co_await kern::user_run(k, cpu, at);
      co_await kern::smp_call_function_many_cond(
          k, cpu, &target,
          [&, sender, call_length](kernel& kk, unsigned) -> sim::task<> {
            ran.push_back(sender);
            co_await run_for(kk, call_length);
          },
          {}, false, kern::ipi_kind::other);
    });
  };
  // CPU 0 queues at 0 ns onto an empty queue: IPI, taken at 1,200 ns; its call runs from
  // 1,600 ns (after irq_entry) for 20 us.
  send_at(0, 0, 20'000);
  // CPU 1 queues at 100 ns behind CPU 0's call: no IPI, taken with it.
  send_at(1, 100, 100);
  // CPU 2 queues at 5,000 ns, while CPU 3 runs CPU 0's call: the queue was taken, so it is
  // empty and CPU 2 sends an IPI, taken when the first handler returns. (A handler that
  // ran its queue until empty would still hold CPU 1's call here: no IPI.)
  send_at(2, 5'000, 100);
  m.start(3, [](kernel& k, unsigned cpu) -> sim::task<> {
    co_await kern::user_run(k, cpu, 100'000);  // IRQs on throughout
  });
  m.run();
  const kern::metrics& st = m.k->stats;
  EXPECT_EQ(ran, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(st.ipis_sent, 2u);
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 0, 0, 2}));
}

TEST(Smp, CallsQueuedBeforeTheHandlerTakesTheQueueShareOneIpi) {
  machine m("x86", 4);
  mm::cpumask target(4);
  target.set(3);
  unsigned calls = 0;
  for (unsigned sender = 0; sender < 3; ++sender)
    m.start(sender, [&, sender](kernel& k, unsigned cpu) -> sim::task<> {
      if (sender) co_await kern::user_run(k, cpu, 100 * sender);  // queued at 0-200 ns
      co_await kern::smp_call_function_many_cond(
          k, cpu, &target,
          [&](kernel& kk, unsigned) -> sim::task<> {
            ++calls;
            co_await run_for(kk, 100);
          },
          {}, false, kern::ipi_kind::other);
    });
  m.start(3,
          [](kernel& k, unsigned cpu) -> sim::task<> { co_await kern::user_run(k, cpu, 100'000); });
  m.run();
  EXPECT_EQ(calls, 3u);
  EXPECT_EQ(m.k->stats.ipis_sent, 1u);
  EXPECT_EQ(m.k->stats.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 0, 0, 1}));
}

TEST(Smp, WithIdlePollingOnlyTheTargetsWhoseQueueWasEmptyCountForTheSingleIpiPath) {
  // kernel/smp.c smp_call_function_many_cond: nr_cpus counts the targets whose llist_add()
  // found an empty queue; when it is one, send_call_function_single_ipi() only sets
  // need-resched on a polling idle CPU. CPU 1 calls CPUs 2 and 3 while CPU 0's call still
  // waits in CPU 3's queue: CPU 3 needs no IPI, so CPU 2, idle and polling, is the only
  // one, and is woken without an interrupt.
  machine m("x86", 4);
  m.k->cfg.idle_poll = true;
  mm::cpumask three(4), two_and_three(4);
  three.set(3);
  two_and_three.set(2);
  two_and_three.set(3);
  std::vector<unsigned> ran_on;
  const kern::smp_call_func_t note_cpu = [&](kernel& k, unsigned cpu) -> sim::task<> {
    ran_on.push_back(cpu);
    co_await run_for(k, 100);
  };
  m.start(0, [&](kernel& k, unsigned cpu) -> sim::task<> {  // queued at 0 ns, taken at 1,200
    co_await kern::smp_call_function_many_cond(k, cpu, &three, note_cpu, {}, false,
                                               kern::ipi_kind::other);
  });
  m.start(1, [&](kernel& k, unsigned cpu) -> sim::task<> {  // queued at 100 ns
    co_await kern::user_run(k, cpu, 100);
    co_await kern::smp_call_function_many_cond(k, cpu, &two_and_three, note_cpu, {}, false,
                                               kern::ipi_kind::other);
  });
  m.start(3,
          [](kernel& k, unsigned cpu) -> sim::task<> { co_await kern::user_run(k, cpu, 100'000); });
  m.run();  // CPU 2 has no thread: it stays in the idle loop
  const kern::metrics& st = m.k->stats;
  std::sort(ran_on.begin(), ran_on.end());
  EXPECT_EQ(ran_on, (std::vector<unsigned>{2, 3, 3}));
  EXPECT_EQ(st.idle_polled_wakeups, 1u);
  EXPECT_EQ(st.ipis_sent, 1u);  // CPU 0's, to CPU 3
  EXPECT_EQ(st.ipis_received_per_cpu, (std::vector<std::uint64_t>{0, 0, 0, 1}));
}

}  // namespace
}  // namespace sd::test
