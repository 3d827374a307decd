// hw::cpu's call-single queue: calls run oldest first (kernel/smp.c), a call queued while
// the handler drains the queue runs in the same drain (the model's rule, which differs from
// the kernel's take-all llist_del_all: hw/cpu.h), and a drained queue starts over empty.
#include <gtest/gtest.h>

#include <vector>

#include "hw/cpu.h"

namespace sd::test {
namespace {

using fifo = hw::cpu::csd_fifo;

kern::call_single_data* csd(std::uintptr_t n) {
  return reinterpret_cast<kern::call_single_data*>(n);  // identities only, never read
}

std::vector<std::uintptr_t> drain(fifo& q, std::uintptr_t queue_when, std::uintptr_t queued) {
  std::vector<std::uintptr_t> ran;
  while (!q.empty()) {
    const auto n = reinterpret_cast<std::uintptr_t>(q.front());
    q.pop_front();
    ran.push_back(n);
    if (n == queue_when) q.push_back(csd(queued));
  }
  return ran;
}

TEST(CsdFifo, RunsOldestFirstIncludingCallsQueuedWhileDraining) {
  fifo q;
  EXPECT_TRUE(q.empty());
  for (std::uintptr_t n = 1; n <= 3; ++n) q.push_back(csd(n));
  EXPECT_EQ(drain(q, 2, 9), (std::vector<std::uintptr_t>{1, 2, 3, 9}));
  EXPECT_TRUE(q.empty());
  q.push_back(csd(5));
  q.push_back(csd(6));
  EXPECT_EQ(drain(q, 0, 0), (std::vector<std::uintptr_t>{5, 6}));
}

TEST(CsdFifo, EmptiesAfterTheLastPopEvenIfPushedBetweenPops) {
  fifo q;
  q.push_back(csd(1));
  q.pop_front();
  EXPECT_TRUE(q.empty());
  q.push_back(csd(2));
  q.push_back(csd(3));
  q.pop_front();
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.front(), csd(3));
  q.pop_front();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace sd::test
