// The runs triage makes, deduplicated (two rows that need the same run share it), and
// running them: in parallel, each single-threaded, so capped counts are exact and the
// output does not depend on --jobs.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "patches/patches.h"
#include "report/compare.h"
#include "triage/registry.h"
#include "triage/triage.h"

namespace sd::triage {

struct check_job {
  std::string program, arch;
  unsigned cpus;
  std::uint64_t pct_schedules;  // 0: dfs
  std::vector<std::string> knobs_off;
  std::string spec;
  patches::patch_set set;
  check_outcome out;
};

struct cost_job {
  std::string scenario, arch;
  unsigned cpus;
  std::vector<std::string> knobs_off;
  std::string spec;
  patches::patch_set set;
  std::optional<report::compare_row> out;
};

class planner {
 public:
  explicit planner(const options& opt) : opt_(opt) {}
  // The index of the run of program t on arch with the set (spec: how the set is written
  // in the replay command); an existing run when the same one was planned already.
  std::size_t check(const program_target& t, const std::string& arch, const std::string& spec,
                    const patches::patch_set& set);
  std::size_t cost(const scenario_target& t, const std::string& arch, const std::string& spec,
                   const patches::patch_set& set);

  std::vector<check_job> checks;
  std::vector<cost_job> costs;

 private:
  const options& opt_;
  std::map<std::string, std::size_t> check_index_, cost_index_;
};

// Runs the checks from index first_check and the cost runs from first_cost on.
void run_planned(const options& opt, planner& plan, std::size_t first_check,
                 std::size_t first_cost);

}  // namespace sd::triage
