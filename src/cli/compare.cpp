#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

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
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
};

}  // namespace

command_fn add_compare(CLI::App& app) {
  auto o = std::make_shared<compare_opts>();
  CLI::App* sub = app.add_subcommand(
      "compare", "run one workload under several patch sets (and CPU counts), side by side");
  add_run_options(sub, o->run);
  sub->add_option("--patches", o->patch_sets,
                  "comma-separated patch sets, the first is the base of the ratios; each is a "
                  "preset, features joined with '+', a preset '+' features; '~' removes one")
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
  sub->add_option("--jobs", o->jobs,
                  "simulate this many runs at once (default: every core); the output is the "
                  "same as with one")
      ->type_name("N")
      ->check(whole_number(1, 1024));
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
    // Every run is resolved first, in order, so a bad value is reported before any run;
    // the runs are independent and land in their own slot, so --jobs changes no output.
    std::vector<std::string> set_of;
    std::vector<workload::run_config> configs;
    for (const auto& cpus : cpu_counts)
      for (const auto& set : o->patch_sets) {
        run_options ro = o->run;
        if (cpus) ro.cpus = cpus;
        workload::scenario_spec spec = build_spec(ro);
        spec.patches = workload::setting{"patches", set, "--patches"};
        configs.push_back(workload::resolve(spec));
        set_of.push_back(set);
      }
    const std::size_t runs = configs.size();
    std::vector<std::optional<workload::run_result>> results(runs);
    progress_line progress(true);
    std::atomic<std::size_t> finished{0};
    const auto run_one = [&](std::size_t i) {
      results[i] =
          workload::simulate(configs[i], nullptr, [&](std::uint64_t steps, sim::sim_time now) {
            progress.update(fmt::format(
                "compare: run {}/{} ({}), {:.3f} ms simulated, {} model steps ({} of {} done)",
                i + 1, runs, set_of[i], static_cast<double>(now) / 1e6, steps, finished.load(),
                runs));
          });
      ++finished;
    };
    if (o->jobs <= 1 || runs <= 1) {
      for (std::size_t i = 0; i < runs; ++i) run_one(i);
    } else {
      tbb::task_arena arena(static_cast<int>(std::min<std::size_t>(o->jobs, runs)));
      arena.execute([&] { tbb::parallel_for(std::size_t{0}, runs, run_one); });
    }
    std::vector<report::compare_row> rows;
    bool violated = false;
    for (std::size_t i = 0; i < runs; ++i) {
      violated = violated || !results[i]->ok();
      rows.push_back({set_of[i], std::move(*results[i])});
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
