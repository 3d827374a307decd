// What `triage` runs for each seed feature: the shipped check programs that exercise the
// kernel path the feature changes (its safety evidence), the seed scenario that measures
// what it costs, the features it needs, and the variants (forced on, as posted) whose
// verdicts show where the kernel's own guard matters.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "patches/patches.h"

namespace sd::triage {

// A check run: a shipped program, at `cpus` (0: the program's own), with knobs off that
// model an event rather than remove a safety step (table_batch_alloc=off is the table
// batch allocation failing), on `arches` (empty: every arch). With pct_schedules, the
// program is sampled with PCT (seed 1, depth 3) instead of dfs, which does not exhaust it.
struct program_target {
  std::string_view program;
  unsigned cpus = 0;
  std::span<const std::string_view> knobs_off = {};
  std::span<const std::string_view> arches = {};
  std::uint64_t pct_schedules = 0;
};

// A compare run: a built-in scenario with its default parameters at the triage's CPU count.
struct scenario_target {
  std::string_view scenario;
  std::span<const std::string_view> knobs_off = {};
};

struct entry {
  patches::feature id;
  std::span<const program_target> programs = {};
  std::optional<scenario_target> scenario = {};
  // The arches whose kernel code contains the change (empty: every arch; the code is
  // generic, so whether it changes anything there is measured).
  std::span<const std::string_view> arches = {};
  // Features this one is only valid with: removing one of those removes this one too.
  std::span<const patches::feature> needs = {};
  // Check-only features that turn this one on where the kernel keeps it off, or as it was
  // posted: triage checks them too and reports what they break.
  std::span<const patches::feature> variants = {};
  // Why there is no program or scenario, when there is none.
  std::string_view not_modeled = {};
};

// The entry of a feature; every feature that can be in a preset has one.
const entry* find_entry(patches::feature f);
std::span<const entry> entries();

}  // namespace sd::triage
