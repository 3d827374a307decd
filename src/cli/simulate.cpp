#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/run_options.h"
#include "report/report.h"
#include "workload/run.h"

namespace sd::cli {

namespace {

struct simulate_opts {
  run_options run;
  std::optional<std::string> patches;
  std::string json;
  std::string trace;
  bool quiet = false;
};

}  // namespace

command_fn add_simulate(CLI::App& app) {
  auto o = std::make_shared<simulate_opts>();
  CLI::App* sub = app.add_subcommand(
      "simulate", "run a workload on a modeled machine and report IPIs, flushes and violations");
  add_run_options(sub, o->run);
  sub->add_option(
         "--patches", o->patches,
         "patch set: a preset (v6.17, v6.17-backport, v6.18, v6.18.13, v6.18.35, v6.19, v7.0, "
         "v7.0.12, v7.0-sync-skip, none), features joined with '+', a preset '+' features, '~' "
         "removes one (default v7.0.12; see 'shootdown list patches')")
      ->type_name("SET");
  sub->add_option("--json", o->json, "write the JSON result to FILE, or - for stdout")
      ->type_name("FILE|-");
  sub->add_option("--trace", o->trace,
                  "write a Chrome/Perfetto trace-event JSON to FILE (open in ui.perfetto.dev)")
      ->type_name("FILE|-");
  sub->add_flag("--quiet", o->quiet, "no human table");
  return [o]() -> int {
    workload::scenario_spec spec = build_spec(o->run);
    if (o->patches) spec.patches = workload::setting{"patches", *o->patches, "--patches"};
    const workload::run_config cfg = workload::resolve(spec);
    output_file json("--json", o->json), trace_out("--trace", o->trace);
    one_stdout(json, trace_out);
    std::unique_ptr<kern::trace_recorder> trace;
    if (trace_out.wanted()) trace = std::make_unique<kern::trace_recorder>(cfg.cpus);
    progress_line progress(!o->quiet);
    const workload::run_result r =
        workload::simulate(cfg, trace.get(), [&progress](std::uint64_t steps, sim::sim_time now) {
          progress.update(
              fmt::format("simulate: {:.3f} ms simulated, {} model steps, {:.1f}M "
                          "steps/s",
                          static_cast<double>(now) / 1e6, steps,
                          static_cast<double>(steps) / 1e6 / std::max(progress.elapsed(), 1e-3)));
        });
    progress.done();
    if (trace) {
      std::ostringstream doc;
      trace->write(doc, fmt::format("shootdown {} {} {} CPUs {}", cfg.scenario, cfg.arch, cfg.cpus,
                                    cfg.patch_spec));
      trace_out.write(doc.str());
    }
    json.write(report::to_json(r).dump(2) + "\n");
    if (!o->quiet && !json.to_stdout() && !trace_out.to_stdout()) report::print_table(std::cout, r);
    return r.ok() ? 0 : 1;
  };
}

}  // namespace sd::cli
