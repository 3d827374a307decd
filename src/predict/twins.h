// The model's twin of each `shootdown host` phase: the same workload as a program
// (src/program), with the same sizes and thread placement, so the model predicts what the
// phase measures.
#pragma once
#include <optional>
#include <string>

namespace sd::predict {

struct twin {
  std::string program;  // TOML text of a program running `rounds` operations on CPU 0
  std::string differs;  // how the twin differs from the host phase ("" if it does not)
};

// nullopt when the phase has no twin yet; `why` then says so.
std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            unsigned rounds, std::string& why);

}  // namespace sd::predict
