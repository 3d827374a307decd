// host --predict on hugetlb-fork-exit burst: the twin replays the order of forks, first
// touches and exits the host recorded, and its two ends (each exit's unshare where the child
// read the clock, and as late as its CPU's next event) bound the syncs the kernel sends. The
// counts below follow the last-sharer rule of 8ce720d (mm/hugetlb.c huge_pmd_unshare with
// the mmu_gather rework, seed 003): an exit syncs once if it leaves the parent the only
// sharer of a PMD table, that is where the union of the children's sharing intervals (first
// fault to unshare) ends.
#include <gtest/gtest.h>

#include <sstream>

#include "host/host_report.h"
#include "host_phase.h"
#include "predict/predict.h"
#include "predict/twins.h"

namespace sd::predict {
namespace {

// "f0 s0@0 x0@0 ..." as host's JSON writes a round.
std::vector<host::child_event> round_of(const std::string& text) {
  std::vector<host::child_event> r;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    host::child_event e{w[0], 0, 0};
    const auto at = w.find('@');
    e.child = static_cast<unsigned>(std::stoul(w.substr(1, at - 1)));
    if (at != std::string::npos) e.cpu = static_cast<unsigned>(std::stoul(w.substr(at + 1)));
    r.push_back(e);
  }
  return r;
}

// One burst repeat of `rounds` with `syncs_per_child` measured machine-wide syncs (the
// per-process counters see no child's exit), on a 2-CPU native x86 machine.
prediction burst(const std::vector<std::string>& rounds, double syncs_per_child,
                 const std::string& patches = "v7.0") {
  host::host_result r;
  r.scenario = "hugetlb-fork-exit";
  r.have_csd_tracepoint = true;
  host::phase_sample s;
  for (const auto& text : rounds) {
    s.child_order.push_back(round_of(text));
    s.ops += s.child_order.back().size() / 3;
  }
  s.csd_queued_all["tlb_remove_table_smp_sync"] =
      static_cast<std::uint64_t>(syncs_per_child * static_cast<double>(s.ops));
  r.phases.push_back(sd::test::host_phase("burst", {s}, "counted machine-wide"));
  machine_guess m;
  m.arch = "x86";
  m.cpus = 2;
  m.patches = patches;
  return predict(r, m);
}

// By value: the prediction is often a temporary.
count_row syncs(const prediction& p) {
  for (const auto& r : p.phases.at(0).rows)
    if (r.name == "csd_queued.tlb_remove_table_smp_sync") return r;
  throw std::runtime_error("no sync row: " + p.phases.at(0).no_twin);
}

TEST(BurstTwin, HostWritesEachRoundAsTheTwinReadsIt) {
  host::host_result r;
  r.scenario = "hugetlb-fork-exit";
  host::phase_sample s;
  s.ops = 3;
  const std::string text = "f0 f1 s1@1 s0@0 x1@1 f12 x0@0 s12@3 x12@3";
  s.child_order.push_back(round_of(text));
  r.phases.push_back(sd::test::host_phase("burst", {s}));
  const auto j = host::to_json(r);
  EXPECT_EQ(j.at("phases").at(0).at("repeats").at(0).at("child_order").at(0), text);
}

TEST(BurstTwin, EachChildGoneBeforeTheNextTouchesSyncsEveryExit) {
  // One CPU: child 0 exits before child 1 faults: both exits leave the parent alone.
  const count_row r = syncs(burst({"f0 s0@0 x0@0 f1 s1@0 x1@0"}, 1));
  EXPECT_DOUBLE_EQ(r.model, 1.0);
  EXPECT_FALSE(r.model_bound);  // one CPU: the exit is done before that CPU's next event
  EXPECT_TRUE(*r.equal);
}

TEST(BurstTwin, OverlappingChildrenSyncOnlyAtTheLastExit) {
  // Child 1 faults (shares) before child 0 exits: 0's exit leaves 1 sharing, no sync; 1's
  // leaves the parent alone: 1 sync for 2 children.
  EXPECT_DOUBLE_EQ(syncs(burst({"f0 f1 s0@0 s1@0 x0@0 x1@0"}, 0.5)).model, 0.5);
  // Before 8ce720d (v6.17: 1013af4's sync per unshared table) every exit syncs.
  EXPECT_DOUBLE_EQ(syncs(burst({"f0 f1 s0@0 s1@0 x0@0 x1@0"}, 1, "v6.17")).model, 1.0);
}

TEST(BurstTwin, AnExitOnOneCpuMayUnshareAfterAnotherCpusChildFaulted) {
  // Child 0 read the clock to exit on CPU 0 before child 1 began on CPU 1, but its unshare
  // can come as late as CPU 0's next event (the parent's reap): 2 syncs if it came first, 1
  // if child 1 faulted first. The kernel's count lies in [0.5, 1] per child.
  const std::string round = "f0 f1 s0@0 x0@0 s1@1 x1@1";
  const count_row r = syncs(burst({round}, 0.5));
  EXPECT_DOUBLE_EQ(r.model, 1.0);
  ASSERT_TRUE(r.model_bound);
  EXPECT_DOUBLE_EQ(*r.model_bound, 0.5);
  EXPECT_TRUE(*r.equal);
  EXPECT_TRUE(*syncs(burst({round}, 1)).equal);
  EXPECT_FALSE(*syncs(burst({round}, 0)).equal);  // fewer than one per round: not the kernel
}

TEST(BurstTwin, RoundsAddUp) {
  // 1 + 2 syncs over 4 children.
  EXPECT_DOUBLE_EQ(
      syncs(burst({"f0 f1 s0@0 s1@0 x0@0 x1@0", "f0 s0@0 x0@0 f1 s1@0 x1@0"}, 0.75)).model, 0.75);
}

TEST(BurstTwin, AnOrderTheTwinCannotReplaySaysWhy) {
  EXPECT_NE(burst({"f0 x0@0 s0@0"}, 1).phases.at(0).no_twin.find("not fork, touch, exit"),
            std::string::npos);
  EXPECT_NE(burst({"f0 s0@0 x0@1"}, 1).phases.at(0).no_twin.find("moved from CPU 0 to CPU 1"),
            std::string::npos);
  EXPECT_NE(burst({"f0 s0@5 x0@5"}, 1).phases.at(0).no_twin.find("CPU 5 of 2"), std::string::npos);
  EXPECT_NE(burst({}, 1).phases.at(0).no_twin.find("measured nothing"), std::string::npos);
}

}  // namespace
}  // namespace sd::predict
