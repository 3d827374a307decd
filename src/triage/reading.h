// The one-line reading of a triage row, for people: the verdict in words with its evidence
// (which program, which invariant) and the cost effect as a ratio.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "triage/triage.h"

namespace sd::triage {

std::string reading(const row& r);
// "a, b, c": feature names, for readings, reports and listings.
std::string feature_list(std::span<const patches::feature> fs);
// The first run of a variant that violated, if any.
const check_outcome* first_violation(const variant_evidence& v);
// The variants' verdicts: "skip-redundant-sync-ipi-forced: pt-use-after-free", or "-".
std::string variant_cell(const row& r);
// The changed metric a reader looks at first (IPIs, then flushes, then latency), if any.
std::optional<metric_change> headline(const cost_evidence& c);
// "74,685 -> 780 (x0.010)"
std::string change_text(const metric_change& m);

}  // namespace sd::triage
