// shootdown: simulate, check and measure TLB shootdowns and page-table-freeing
// synchronization in the Linux kernel. Exit codes: 0 ok, 1 invariant violated,
// 2 usage or input error.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "report/report.h"
#include "sim/huge_heap.h"
#include "workload/config.h"

int main(int argc, char** argv) {
  sd::sim::back_heap_with_huge_pages();
  CLI::App app{"shootdown: model, check and measure Linux TLB shootdowns", "shootdown"};
  app.set_version_flag("--version", std::string(sd::report::version()));
  app.require_subcommand(1);
  std::function<int()> run;
  const auto simulate = sd::cli::add_simulate(app);
  const auto list = sd::cli::add_list(app);
  const auto host = sd::cli::add_host(app);
  const auto compare = sd::cli::add_compare(app);
  const auto check = sd::cli::add_check(app);
  const auto triage = sd::cli::add_triage(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "shootdown: error: " << e.what() << " (see 'shootdown --help')\n";
    return 2;
  }
  try {
    int rc = 2;
    if (app.got_subcommand("simulate")) rc = simulate();
    if (app.got_subcommand("list")) rc = list();
    if (app.got_subcommand("host")) rc = host();
    if (app.got_subcommand("compare")) rc = compare();
    if (app.got_subcommand("check")) rc = check();
    if (app.got_subcommand("triage")) rc = triage();
    sd::cli::check_stdout();  // a table lost to a full disk is an error too
    return rc;
  } catch (const sd::workload::input_error& e) {
    std::cerr << "shootdown: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "shootdown: error: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
