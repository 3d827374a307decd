// kern::lockless_walks: the monitor's record of lockless walks in progress. A perf NMI's
// walk inside a GUP-fast walk on the same CPU must leave the GUP-fast walk recorded (it
// still holds its table pointers when the NMI returns), and the CPUs inside a walk are
// listed in ascending order (the order violations are reported in).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/lockless_walks.h"

namespace sd::test {
namespace {

using kern::lockless_walks;
using kern::walk_context;

struct seen {
  std::string walker;
  std::vector<mm::pfn_t> tables;
  bool operator==(const seen&) const = default;
};

std::vector<seen> walks_on(const lockless_walks& w, unsigned cpu) {
  std::vector<seen> out;
  w.for_each_walk(cpu, [&](const lockless_walks::walk& x) { out.push_back({x.walker, x.tables}); });
  return out;
}

TEST(LocklessWalks, AnNmiWalkLeavesTheWalkItInterruptedRecorded) {
  mm::mm_struct p(8);
  lockless_walks w;
  w.resize(4);
  lockless_walks::walk& gup = w.begin(2, walk_context::task, p, "GUP-fast");
  gup.tables = {10, 11};
  lockless_walks::walk& nmi = w.begin(2, walk_context::nmi, p, "perf");
  nmi.tables = {20};
  EXPECT_EQ(walks_on(w, 2), (std::vector<seen>{{"GUP-fast", {10, 11}}, {"perf", {20}}}));
  w.end(2, walk_context::nmi);
  EXPECT_EQ(walks_on(w, 2), (std::vector<seen>{{"GUP-fast", {10, 11}}}));
  EXPECT_EQ(w.active(), (std::vector<unsigned>{2}));
  w.end(2, walk_context::task);
  EXPECT_TRUE(walks_on(w, 2).empty());
  EXPECT_TRUE(w.active().empty());
}

TEST(LocklessWalks, ListsTheWalkingCpusAscendingAndEachOnce) {
  mm::mm_struct p(8);
  lockless_walks w;
  w.resize(8);
  for (unsigned cpu : {5u, 1u, 3u}) w.begin(cpu, walk_context::task, p, "GUP-fast");
  w.begin(3, walk_context::nmi, p, "perf");
  w.begin(3, walk_context::task, p, "GUP-fast");  // a new walk replaces the ended one's record
  EXPECT_EQ(w.active(), (std::vector<unsigned>{1, 3, 5}));
  w.end(3, walk_context::task);
  EXPECT_EQ(w.active(), (std::vector<unsigned>{1, 3, 5}));  // its NMI walk goes on
  w.end(3, walk_context::nmi);
  w.end(3, walk_context::nmi);  // ending twice (or a walk never begun) changes nothing
  w.end(6, walk_context::task);
  EXPECT_EQ(w.active(), (std::vector<unsigned>{1, 5}));
}

}  // namespace
}  // namespace sd::test
