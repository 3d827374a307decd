// The call-single queue (kernel/call_queue.h, kernel/smp.c): calls run oldest first; the
// handler takes every queued call at once (llist_del_all), so the queue reads empty while
// the taken calls run and a call queued meanwhile waits for the next del_all.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/call_queue.h"

namespace sd::test {
namespace {

using fifo = kern::csd_fifo;

kern::csd_id csd(std::uintptr_t n) {
  return static_cast<kern::csd_id>(n);
}

// One handler run: takes the queue and runs it; when it runs `queue_when` a sender queues
// `queued`. Returns what ran and whether that sender found the queue empty (sends an IPI).
struct drained {
  std::vector<std::uintptr_t> ran;
  bool sender_found_empty = false;
};
drained drain(fifo& q, std::uintptr_t queue_when, std::uintptr_t queued) {
  drained d;
  for (const kern::csd_id c : q.del_all()) {
    const std::uintptr_t n = c;
    d.ran.push_back(n);
    if (n == queue_when) {
      d.sender_found_empty = q.empty();
      q.push_back(csd(queued));
    }
  }
  return d;
}

TEST(CsdFifo, RunsOldestFirstAndLeavesCallsQueuedDuringTheRunForTheNextTake) {
  fifo q;
  EXPECT_TRUE(q.empty());
  for (std::uintptr_t n = 1; n <= 3; ++n) q.push_back(csd(n));
  const drained first = drain(q, 2, 9);
  EXPECT_EQ(first.ran, (std::vector<std::uintptr_t>{1, 2, 3}));
  EXPECT_TRUE(first.sender_found_empty);  // call 3 was already taken: 9's sender IPIs
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(drain(q, 0, 0).ran, (std::vector<std::uintptr_t>{9}));
  EXPECT_TRUE(q.empty());
}

TEST(CsdFifo, StartsOverInTheSameStorageAfterEachTake) {
  fifo q;
  q.push_back(csd(1));
  EXPECT_EQ(drain(q, 0, 0).ran, (std::vector<std::uintptr_t>{1}));
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.del_all().empty());
  q.push_back(csd(2));
  q.push_back(csd(3));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(drain(q, 0, 0).ran, (std::vector<std::uintptr_t>{2, 3}));
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace sd::test
