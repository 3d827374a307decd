// The engine with a scheduler that chooses the interleaving: the seam the exploring checker
// uses. Two paths of two steps each have C(4,2) = 6 interleavings; a depth-first search over
// choice sequences, replaying from the start each time (stateless exploration), must find
// exactly those 6, each once.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "mm/locks.h"
#include "sim/engine.h"

namespace sd::sim {
namespace {

// Picks the eligible actor named by a choice prefix, then the lowest id; records the
// number of alternatives at each decision so a driver can enumerate the tree.
class choice_scheduler final : public scheduler {
 public:
  explicit choice_scheduler(std::vector<std::size_t> prefix) : prefix_(std::move(prefix)) {}
  void resize(std::size_t n) override { eligible_.resize(n); }
  void update(actor_id a, std::optional<sim_time> at) override { eligible_[a] = at.has_value(); }
  std::optional<actor_id> next() override {
    std::vector<actor_id> options;
    for (actor_id i = 0; i < eligible_.size(); ++i)
      if (eligible_[i]) options.push_back(i);
    if (options.empty()) return std::nullopt;
    std::size_t k = depth_ < prefix_.size() ? prefix_[depth_] : 0;
    widths.push_back(options.size());
    ++depth_;
    return options.at(k);
  }
  std::vector<std::size_t> widths;

 private:
  std::vector<bool> eligible_;
  std::vector<std::size_t> prefix_;
  std::size_t depth_ = 0;
};

task<> two_steps(engine& e, std::string& log, char name) {
  co_await e.step(1);
  log += name;
  co_await e.step(1);
  log += name;
}

std::string run_once(const std::vector<std::size_t>& prefix, std::vector<std::size_t>& widths) {
  choice_scheduler s(prefix);
  engine e(s);
  std::string log;
  e.start(e.add_actor(), two_steps(e, log, 'A'));
  e.start(e.add_actor(), two_steps(e, log, 'B'));
  e.run(1000);
  widths = s.widths;
  return log;
}

TEST(Engine, ExploringSchedulerEnumeratesAllSixInterleavings) {
  std::multiset<std::string> seen;
  std::vector<std::vector<std::size_t>> stack{{}};
  int executions = 0;
  while (!stack.empty()) {
    auto prefix = stack.back();
    stack.pop_back();
    std::vector<std::size_t> widths;
    seen.insert(run_once(prefix, widths));
    ++executions;
    // Branch on every decision past the prefix: alternatives 1..width-1.
    for (std::size_t d = prefix.size(); d < widths.size(); ++d)
      for (std::size_t k = 1; k < widths[d]; ++k) {
        auto p = prefix;
        p.resize(d, 0);
        p.push_back(k);
        stack.push_back(p);
      }
  }
  EXPECT_EQ(executions, 6);
  std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct, (std::set<std::string>{"AABB", "ABAB", "ABBA", "BAAB", "BABA", "BBAA"}));
}

TEST(Engine, TimedSchedulerRunsEarliestClockFirstTiesById) {
  timed_scheduler s;
  engine e(s);
  std::string log;
  e.start(e.add_actor(), two_steps(e, log, 'A'));
  e.start(e.add_actor(), two_steps(e, log, 'B'));
  e.run(1000);
  // Both start at 0: A (id 0) first, then B at 0, then A at 1, then B at 1.
  EXPECT_EQ(log, "ABAB");
}

task<> irq_handler(engine& e, std::string& log) {
  e.set_irqs_enabled(e.current(), false);
  co_await e.step(10);
  log += 'I';
  e.clear_irq(e.current());
  e.set_irqs_enabled(e.current(), true);
}

task<> user_run(engine& e, std::string& log, sim_time& end) {
  co_await e.run_interruptible(100);
  log += 'U';
  end = e.now();
}

// A stall function's answer is trusted for the span it gives: the engine asks again only for
// a step outside it, and a held actor's step waits for the end of the hold. Steps of 30 ns
// from 0; not held in [0, 100), held in [100, 200), not held from 200 on: the steps at 0, 30,
// 60, 90 need one question, the one due at 120 is asked about (held until 200), and the one
// at 200 is asked about once more (not held from there on): 3 questions, steps at 0, 30, 60,
// 90, 200, 230.
task<> six_steps(engine& e, std::vector<sim_time>& at) {
  for (int i = 0; i < 6; ++i) {
    co_await e.step(30);
    at.push_back(e.now());  // when this step was taken
  }
}

TEST(Engine, StallAnswerIsAskedAgainOnlyOutsideItsSpan) {
  timed_scheduler s;
  engine e(s);
  std::vector<sim_time> at;
  std::vector<sim_time> asked;
  e.set_stall([&](actor_id, sim_time t) -> stall_answer {
    asked.push_back(t);
    if (t < 100) return {0, 0, 100};
    if (t < 200) return {200, 0, 0};
    return {0, 200, never};
  });
  e.start(e.add_actor(), six_steps(e, at));
  e.run(1000);
  EXPECT_EQ(asked, (std::vector<sim_time>{0, 120, 200}));
  EXPECT_EQ(at, (std::vector<sim_time>{0, 30, 60, 90, 200, 230}));
}

TEST(Engine, IrqCutsInterruptibleRunAndTheRemainderFollows) {
  timed_scheduler s;
  engine e(s);
  std::string log;
  sim_time end = 0;
  e.set_irq_entry([&](actor_id) { return irq_handler(e, log); });
  auto a = e.add_actor();
  e.start(a, user_run(e, log, end));
  e.raise_irq(a, 30);
  e.run(1000);
  // IRQ at 30 takes 10 ns; the 70 ns of user time left end at 110.
  EXPECT_EQ(log, "IU");
  EXPECT_EQ(end, 110);
}

task<> irqs_off_then_on(engine& e, std::string& log) {
  e.set_irqs_enabled(e.current(), false);
  co_await e.step(50);
  log += 'W';  // the IRQ raised at 10 must wait for this IRQs-off region
  e.set_irqs_enabled(e.current(), true);
  co_await e.step(1);
  log += 'X';
}

TEST(Engine, IrqWaitsForIrqsOffRegion) {
  timed_scheduler s;
  engine e(s);
  std::string log;
  e.set_irq_entry([&](actor_id) { return irq_handler(e, log); });
  auto a = e.add_actor();
  e.start(a, irqs_off_then_on(e, log));
  e.raise_irq(a, 10);
  e.run(1000);
  EXPECT_EQ(log, "WIX");
}

// An actor that arrives at `at`, takes a lock (`acquire` returns the task that takes it),
// logs "name+time" when it holds it, holds it for `hold` ns and releases it.
template <class Acquire, class Release>
task<> lock_holder(engine& e, sim_time at, sim_time hold, std::string& log, char name,
                   Acquire acquire, Release release) {
  co_await e.step(at);
  co_await acquire();
  log += std::string(1, name) + "+" + std::to_string(e.now()) + " ";
  co_await e.step(hold);
  co_await e.step(0);  // runs when the hold is over
  release();
}

// kernel/locking/rwsem.c rwsem_mark_wake: the lock goes to the waiters in queue order. The
// writer holds it for 100 ns; a reader, a writer and a reader queue behind it (arriving at
// 1, 2, 3). At 100 the first waiter is a reader: both readers get the lock together (the
// writer between them keeps its place) and finish at 110; then the writer, at 110.
task<> rw_writer(engine& e, sd::mm::rw_semaphore& sem, sim_time at, sim_time hold, std::string& log,
                 char name) {
  return lock_holder(
      e, at, hold, log, name, [&] { return sem.down_write(e, 0); }, [&] { sem.up_write(e); });
}
task<> rw_reader(engine& e, sd::mm::rw_semaphore& sem, sim_time at, std::string& log, char name) {
  return lock_holder(
      e, at, 10, log, name, [&] { return sem.down_read(e, 0); }, [&] { sem.up_read(e); });
}

TEST(Engine, RwSemaphoreHandsOverInQueueOrderReadersTogether) {
  timed_scheduler s;
  engine e(s);
  sd::mm::rw_semaphore sem;
  std::string log;
  e.start(e.add_actor(), rw_writer(e, sem, 0, 100, log, 'W'));
  e.start(e.add_actor(), rw_reader(e, sem, 1, log, 'r'));
  e.start(e.add_actor(), rw_writer(e, sem, 2, 5, log, 'w'));
  e.start(e.add_actor(), rw_reader(e, sem, 3, log, 's'));
  e.run(1000);
  EXPECT_EQ(log, "W+0 r+100 s+100 w+110 ");
}

// kernel/locking/qspinlock.c: a CPU that finds the lock contended queues, and the unlock
// hands the lock to the head of the queue. A takes the lock at 0 and releases it at 110; B
// arrives at 1 and queues. C's atomic step on the lock word comes at 110 too, right after
// A's release and before B, woken, runs again (ties go by actor id, and C's is lower). C
// finds the lock handed to B and queues behind it: B gets the lock at 110, C at 220. A
// lock that only wakes B to try again lets C take it first ("A+0 C+110 B+220").
task<> spin_holder(engine& e, sd::mm::spinlock& l, sim_time at, std::string& log, char name) {
  return lock_holder(
      e, at, 100, log, name, [&] { return l.lock(e, 10); }, [&] { l.unlock(e); });
}

TEST(Engine, SpinlockHandsOverToTheQueueHeadNotToALaterArrival) {
  timed_scheduler s;
  engine e(s);
  sd::mm::spinlock l;
  std::string log;
  e.start(e.add_actor(), spin_holder(e, l, 0, log, 'A'));
  e.start(e.add_actor(), spin_holder(e, l, 110, log, 'C'));
  e.start(e.add_actor(), spin_holder(e, l, 1, log, 'B'));
  e.run(1000);
  EXPECT_EQ(log, "A+0 B+110 C+220 ");
  EXPECT_FALSE(l.is_locked());
}

}  // namespace
}  // namespace sd::sim
