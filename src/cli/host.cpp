#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "host/host_report.h"
#include "host/host_run.h"
#include "workload/config.h"

namespace sd::cli {

command_fn add_host(CLI::App& app) {
  auto o = std::make_shared<host::host_options>();
  auto json = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "host", "run a scenario natively on this machine and measure the real kernel");
  std::string names;
  for (const auto& s : host::host_scenarios())
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  sub->add_option("--scenario", o->scenario, "one of: " + names)->required();
  sub->add_option("--iterations", o->iterations,
                  "operations per phase and repeat (default per scenario)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  sub->add_option("--repeat", o->repeat, "repeats per phase, for median/min/max")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  sub->add_option("--timeout", o->timeout_s, "seconds per phase and repeat before stopping early")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  sub->add_option("--reserve-hugepages", o->reserve_hugepages,
                  "as root: raise vm.nr_hugepages to N for the run, then restore it")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  sub->add_option("--json", *json, "write the JSON result to FILE, or - for stdout");
  return [o, json]() -> int {
    host::host_result r;
    try {
      r = host::run_host(*o);
    } catch (const std::invalid_argument& e) {
      throw workload::input_error(e.what());
    }
    if (!json->empty()) {
      const std::string doc = host::to_json(r).dump(2) + "\n";
      if (*json == "-") {
        std::cout << doc;
      } else {
        std::ofstream f(*json);
        if (!f) throw workload::input_error("--json: cannot write '" + *json + "'");
        f << doc;
      }
    }
    if (*json != "-") host::print_table(std::cout, r);
    return 0;
  };
}

}  // namespace sd::cli
