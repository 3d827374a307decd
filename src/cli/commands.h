// Subcommands of the single `shootdown` binary. Each registers its flags on the app and
// returns the function to run once parsing succeeded (which returns the exit code).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace sd::cli {

using command_fn = std::function<int()>;

command_fn add_simulate(CLI::App& app);
command_fn add_list(CLI::App& app);
command_fn add_host(CLI::App& app);
command_fn add_compare(CLI::App& app);
command_fn add_check(CLI::App& app);
command_fn add_triage(CLI::App& app);

}  // namespace sd::cli
