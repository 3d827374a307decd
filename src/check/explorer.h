// The exploring checker: runs a program under many schedules and either finds a violation
// (with the schedule that produces it) or says how much it covered without one.
//
// Strategies:
//   dfs     every schedule with at most `bound` preemptions, depth first (stateless: each
//           execution replays its prefix from a fresh kernel, without computing the options
//           after each replayed choice until they are needed again: execution::advance).
//           A preemption is a choice other
//           than continuing the actor that moved last while it still can; switching when it
//           blocks or ends is free. Hardware events (an IPI taken early, a speculative walk, a
//           vCPU preempted) are choices too and cost a preemption when they cut in.
//   random  each choice uniformly among the enabled ones, `max_executions` times
//   pct     probabilistic concurrency testing (Burckhardt et al., ASPLOS'10): random
//           priorities per actor and event source, `depth - 1` priority drops at random steps
// Reduction (dfs): sleep sets (Godefroid) over the hardware events whose footprint is exact:
// a speculative walk, an eviction and a pending invalidation landing each read the page
// tables and write one CPU's TLB, and the hypervisor preempting a vCPU writes that vCPU's
// steal-time state; two of them on different CPUs commute and neither enables or disables
// the other; swapping them changes no preemption count either. An actor's step commutes
// with one where its measured footprint says so (execution::apply). Once one order of such
// a pair was explored, the other is not (`pruned` counts the choices skipped). Two actors'
// steps carry no complete shared-object footprint yet, so they are dependent. Each class
// of equivalent schedules is explored once, whatever the order: the counts do not depend
// on the exploration order.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "check/execution.h"

namespace sd::check {

enum class strategy : std::uint8_t { dfs, random, pct };

struct explore_options {
  strategy strat = strategy::dfs;
  unsigned bound = 2;                        // dfs: preemptions per execution
  std::uint64_t max_executions = 1'000'000;  // all strategies
  std::uint64_t seed = 0;                    // dfs: 0 = the fixed order, else a shuffled order
  unsigned pct_depth = 3;                    // pct: bug depth d
  std::size_t max_steps = 100'000;           // per execution: longer is a livelock (error)
  unsigned jobs = 1;                         // dfs: threads; the result is the serial one
  bool reduce = true;                        // dfs: sleep sets (off: to measure what they save)
  // dfs with jobs > 1, for tests: the subtrees run one at a time, the last in dfs order
  // first. Of the orders threads may run them in, this is the one where each runs before
  // every subtree it follows, so each runs past its share of --max-executions and the merge
  // must explore it again: a deterministic test of the merge.
  bool last_subtree_first = false;
  // Called every 64 executions with the number so far (from any --jobs thread; a progress
  // indicator, which must not touch the exploration).
  std::function<void(std::uint64_t)> progress;
};

struct explore_result {
  bool violation = false;
  check::violation first;        // when violation
  std::vector<choice> schedule;  // the execution that violated
  std::uint64_t executions = 0;  // explored (the violating one included)
  std::uint64_t pruned = 0;      // dfs: choices skipped by the reduction
  bool exhausted = false;        // dfs: every schedule within the bound was explored
  std::size_t max_depth = 0;     // longest execution, in choices
  double seconds = 0;
};

explore_result explore(const check_config& cfg, const explore_options& opt);

// Replays `schedule`, then continues each actor until it blocks or ends (no preemption).
// Throws std::invalid_argument when a choice of the schedule is not enabled where it stands.
struct replay_result {
  bool violation = false;
  check::violation first;
  std::vector<choice> schedule;  // what was actually run (the given one, then the rest)
  std::vector<step_record> steps;
  kern::metrics stats;
  std::vector<std::string> actor_names;
};
replay_result replay(const check_config& cfg, const std::vector<choice>& schedule,
                     kern::trace_recorder* trace = nullptr);

}  // namespace sd::check
