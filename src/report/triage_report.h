// triage's outputs: one row per feature and arch (safety verdict, cost effect, reading),
// then the evidence behind every violation (the replay command); as text, markdown (for a
// mailing-list reply) or JSON. No model logic.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>

#include "triage/triage.h"

namespace sd::report {

void print_triage(std::ostream& out, const triage::result& r, bool markdown);
nlohmann::ordered_json triage_json(const triage::result& r);

}  // namespace sd::report
