// sim::fifo replaced std::deque in every wait queue of the model: the order in which waiters
// wake decides who gets a lock next, so it must be the deque's order exactly, through
// compaction, moves and clears, and a queue that never drains must not grow without bound.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include "sim/fifo.h"

namespace sd::sim {
namespace {

std::vector<int> contents(const fifo<int>& f) {
  return {f.begin(), f.end()};
}
std::vector<int> contents(const std::deque<int>& d) {
  return {d.begin(), d.end()};
}

TEST(Fifo, KeepsTheOrderOfADequeThroughCompactionMovesAndClears) {
  fifo<int> f;
  std::deque<int> ref;
  std::mt19937_64 rng(5);
  int next = 0;
  for (int op = 0; op < 200000; ++op) {
    const unsigned r = rng() % 100;
    if (r < 55) {  // push more than pop, so queues reach the compaction threshold
      f.push_back(next);
      ref.push_back(next++);
    } else if (r < 97) {
      if (ref.empty()) continue;
      ASSERT_EQ(f.front(), ref.front()) << "op " << op;
      f.pop_front();
      ref.pop_front();
    } else if (r < 99) {  // move out and back, as rw_semaphore's hand-over does
      fifo<int> moved = std::move(f);
      ASSERT_TRUE(f.empty());
      ASSERT_EQ(f.size(), 0u);
      f = std::move(moved);
      ASSERT_TRUE(moved.empty());
    } else {
      f.clear();
      ref.clear();
    }
    ASSERT_EQ(f.empty(), ref.empty()) << "op " << op;
    ASSERT_EQ(f.size(), ref.size()) << "op " << op;
  }
  EXPECT_EQ(contents(f), contents(ref));
}

TEST(Fifo, AQueueThatNeverDrainsStaysBoundedByTwiceItsLength) {
  fifo<int> f;
  for (int i = 0; i < 100; ++i) f.push_back(i);
  for (int i = 100; i < 100000; ++i) {  // one in, one out: never empty
    f.push_back(i);
    ASSERT_EQ(f.front(), i - 100);
    f.pop_front();
    ASSERT_LE(f.stored(), 2 * f.size() + 64) << "after " << i;
  }
  EXPECT_EQ(f.size(), 100u);
}

}  // namespace
}  // namespace sd::sim
