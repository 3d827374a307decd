#include <fmt/format.h>

#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/plot.h"
#include "cli/progress.h"
#include "cli/run_options.h"
#include "kernel/kernel.h"
#include "report/compare.h"
#include "workload/run.h"

namespace sd::cli {

namespace {

struct compare_opts {
  run_options run;
  std::vector<std::string> patch_sets;
  std::vector<unsigned> sweep;
  std::vector<std::string> metrics;
  std::string json;
  std::string plot, plot_metric = "ipis_sent";
  bool csv = false;
  bool markdown = false;
};

}  // namespace

command_fn add_compare(CLI::App& app) {
  auto o = std::make_shared<compare_opts>();
  CLI::App* sub = app.add_subcommand(
      "compare", "run one workload under several patch sets (and CPU counts), side by side");
  add_run_options(sub, o->run);
  sub->add_option("--patches", o->patch_sets,
                  "comma-separated patch sets, the first is the base of the ratios; each is a "
                  "preset, features joined with '+', or a preset '+' features")
      ->type_name("SET,SET,...")
      ->delimiter(',')
      ->required();
  sub->add_option("--sweep-cpus", o->sweep, "comma-separated CPU counts, e.g. 4,16,64,256")
      ->type_name("N,N,...")
      ->delimiter(',')
      ->check(whole_number(1, kern::MAX_CPUS));
  sub->add_option("--metrics", o->metrics,
                  "comma-separated columns (default: every metric non-zero somewhere, then each "
                  "operation's mean latency as op:NAME; 'shootdown list metrics')")
      ->type_name("METRIC,...")
      ->delimiter(',');
  sub->add_option("--json", o->json, "write the comparison as JSON to FILE, or - for stdout")
      ->type_name("FILE|-");
  sub->add_option("--plot", o->plot,
                  "with --sweep-cpus: draw --plot-metric against the CPU count, one line per "
                  "patch set, into FILE.svg or FILE.png (gnuplot)")
      ->type_name("FILE");
  sub->add_option("--plot-metric", o->plot_metric, "the metric --plot draws (default ipis_sent)")
      ->type_name("METRIC");
  sub->add_flag("--csv", o->csv, "print CSV (one row per patch set and CPU count)");
  sub->add_flag("--markdown", o->markdown, "print a markdown table");
  return [o]() -> int {
    if (o->csv && o->markdown)
      throw workload::input_error("--csv and --markdown exclude each other");
    for (const auto& m : o->metrics) {
      try {
        report::check_column(m);
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string("--metrics: ") + e.what());
      }
    }
    output_file json("--json", o->json);
    if (!o->plot.empty()) {
      if (o->sweep.size() < 2)
        throw workload::input_error("--plot needs --sweep-cpus with at least two CPU counts");
      try {
        report::check_column(o->plot_metric);
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string("--plot-metric: ") + e.what());
      }
      check_plot_target(o->plot);
    }
    std::vector<std::optional<unsigned>> cpu_counts;
    if (o->sweep.empty())
      cpu_counts.push_back(o->run.cpus);
    else
      for (unsigned c : o->sweep) cpu_counts.emplace_back(c);
    std::vector<report::compare_row> rows;
    bool violated = false;
    progress_line progress(true);
    const std::size_t runs = cpu_counts.size() * o->patch_sets.size();
    for (const auto& cpus : cpu_counts)
      for (const auto& set : o->patch_sets) {
        run_options ro = o->run;
        if (cpus) ro.cpus = cpus;
        workload::scenario_spec spec = build_spec(ro);
        spec.patches = workload::setting{"patches", set, "--patches"};
        const std::size_t n = rows.size() + 1;
        report::compare_row row{
            set, workload::simulate(
                     workload::resolve(spec), nullptr, [&](std::uint64_t steps, sim::sim_time now) {
                       progress.update(
                           fmt::format("compare: run {}/{} ({}), {:.3f} ms simulated, {} "
                                       "model steps",
                                       n, runs, set, static_cast<double>(now) / 1e6, steps));
                     })};
        violated = violated || !row.r.ok();
        rows.push_back(std::move(row));
      }
    progress.done();
    const auto ran = [&rows](const char* flag, const std::string& m) {
      try {
        report::check_column_ran(m, rows);
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string(flag) + " " + m + ": " + e.what());
      }
    };
    for (const auto& m : o->metrics) ran("--metrics", m);
    if (!o->plot.empty()) {
      ran("--plot-metric", o->plot_metric);
      plot_sweep(rows, o->plot_metric, o->plot);
    }
    const auto columns = o->metrics.empty() ? report::default_columns(rows) : o->metrics;
    json.write(report::compare_json(rows, columns).dump(2) + "\n");
    if (!json.to_stdout()) {
      if (o->csv)
        report::print_compare_csv(std::cout, rows, columns);
      else
        report::print_compare(std::cout, rows, columns, o->markdown);
    }
    if (violated)
      std::cerr << "shootdown: invariant violations in some runs (see the violations row); run "
                   "them with 'simulate' for details\n";
    return violated ? 1 : 0;
  };
}

}  // namespace sd::cli
