// shootdown check: explore the interleavings of a small program and report a violation
// with a replayable counterexample, or what was covered without one.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "arch/arch.h"
#include "check/explorer.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "kernel/kernel.h"
#include "program/program.h"
#include "report/check_report.h"
#include "workload/config.h"
#include "workload/units.h"

namespace sd::cli {

namespace {

struct check_opts {
  std::string program;
  std::string arch = "x86";
  std::optional<unsigned> cpus;
  std::string patches{patches::k_default_preset};
  std::vector<std::string> knobs;
  unsigned bound = 2;
  std::uint64_t max_executions = 1'000'000;
  std::string strategy = "dfs";
  std::uint64_t seed = 0;
  unsigned pct_depth = 3;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  std::string json, trace, replay;
  std::string walks = "lazy";
  bool evictions = false;
  bool no_reduction = false;
  bool quiet = false;
};

check::check_config resolve(const check_opts& o) {
  check::check_config c;
  c.prog = program::load_program(o.program);
  if (!arch::find_arch(o.arch)) {
    std::string known;
    for (const auto& a : arch::arches()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    throw workload::input_error("--arch: unknown arch '" + o.arch + "' (known: " + known + ")");
  }
  c.arch = o.arch;
  c.cpus = o.cpus.value_or(c.prog.min_cpus());
  if (c.cpus < c.prog.min_cpus())
    throw workload::input_error(
        fmt::format("--cpus {}: program {} runs on {} CPUs, so it needs at "
                    "least {}",
                    c.cpus, c.prog.name, c.prog.min_cpus(), c.prog.min_cpus()));
  c.patch_spec = o.patches;
  try {
    c.patches = patches::parse_patch_set(o.patches);
  } catch (const std::invalid_argument& e) {
    throw workload::input_error(std::string("--patches: ") + e.what());
  }
  for (const auto& kv : o.knobs) {
    const auto eq = kv.find('=');
    const auto k = patches::find_knob(kv.substr(0, eq));
    if (eq == std::string::npos || !k)
      throw workload::input_error(
          "--knob expects NAME=on|off with a knob from 'shootdown list "
          "knobs', got '" +
          kv + "'");
    bool on = true;
    try {
      on = workload::parse_flag(kv.substr(eq + 1));
    } catch (const std::invalid_argument& e) {
      throw workload::input_error("--knob " + kv + ": " + e.what());
    }
    c.knobs.set(*k, on);
    if (!on) c.knobs_off.push_back(kv.substr(0, eq));
  }
  c.walks_all = o.walks == "all";
  c.evictions = o.evictions;
  return c;
}

}  // namespace

command_fn add_check(CLI::App& app) {
  auto o = std::make_shared<check_opts>();
  CLI::App* sub = app.add_subcommand(
      "check",
      "explore the interleavings of a small program: a violation with a replayable "
      "counterexample, or what was covered without one");
  sub->add_option("--program", o->program,
                  "a shipped program ('shootdown list programs') or a program file")
      ->type_name("NAME|FILE")
      ->required();
  sub->add_option("--arch", o->arch, "x86, x86-kvm, x86-invlpgb or arm64")
      ->type_name("ARCH")
      ->capture_default_str();
  sub->add_option("--cpus", o->cpus,
                  "CPUs of the machine (default: the program's; CPUs past those run its [extra] "
                  "ops, or idle)")
      ->type_name("N")
      ->check(whole_number(1, 64));
  sub->add_option("--patches", o->patches, "patch set, as for simulate")
      ->type_name("SET")
      ->capture_default_str();
  sub->add_option("--knob", o->knobs, "knob NAME=on|off (repeatable; see 'shootdown list knobs')")
      ->type_name("NAME=on|off");
  sub->add_option("--bound", o->bound,
                  "dfs: at most this many preemptions per execution (hardware events that cut in "
                  "count too)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(0, 20));
  sub->add_option("--max-executions", o->max_executions,
                  "stop after this many executions (dfs then says it did not finish)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(1, 1'000'000'000));
  sub->add_option("--strategy", o->strategy,
                  "dfs (exhaustive within --bound), random or pct (sampling)")
      ->type_name("dfs|random|pct")
      ->capture_default_str()
      ->check(one_of({"dfs", "random", "pct"}));
  sub->add_option("--seed", o->seed,
                  "dfs: 0 = the fixed order, else a shuffled exploration order (same verdict and "
                  "count); random/pct: the sampling seed")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(0, UINT64_MAX));
  sub->add_option("--pct-depth", o->pct_depth, "pct: the bug depth d (d - 1 priority drops)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(1, 10));
  sub->add_option("--jobs", o->jobs,
                  "dfs: explore on this many threads (default: every core); same verdict, counts "
                  "and counterexample as one thread")
      ->type_name("N")
      ->check(whole_number(1, 1024));
  sub->add_option("--walks", o->walks,
                  "speculative page walks the MMU may make at any point: by lazy CPUs only, or by "
                  "every CPU with a user mm loaded (many more schedules)")
      ->type_name("lazy|all")
      ->capture_default_str()
      ->check(one_of({"lazy", "all"}));
  sub->add_flag("--evictions", o->evictions,
                "also explore TLB and walk-cache evictions at any point (many more schedules)");
  sub->add_flag("--no-reduction", o->no_reduction,
                "dfs: explore equivalent orders of independent hardware events too (to measure "
                "the reduction)");
  CLI::Option* replay_opt =
      sub->add_option("--replay", o->replay,
                      "run this schedule (as printed with a counterexample) instead of exploring; "
                      "'' runs the default schedule (each actor until it blocks or ends)")
          ->type_name("SCHEDULE");
  sub->add_option("--json", o->json, "write the verdict as JSON to FILE, or - for stdout")
      ->type_name("FILE|-");
  sub->add_option("--trace", o->trace,
                  "write the counterexample (or the replay) as a Perfetto trace to FILE (with no "
                  "counterexample: a trace without events)")
      ->type_name("FILE|-");
  sub->add_flag("--quiet", o->quiet, "no human report");
  return [o, replay_opt]() -> int {
    const check::check_config cfg = resolve(*o);
    check::explore_options opt;
    opt.strat = o->strategy == "random" ? check::strategy::random
                : o->strategy == "pct"  ? check::strategy::pct
                                        : check::strategy::dfs;
    opt.bound = o->bound;
    opt.max_executions = o->max_executions;
    opt.seed = o->seed;
    opt.pct_depth = o->pct_depth;
    opt.jobs = o->jobs;
    opt.reduce = !o->no_reduction;

    output_file json("--json", o->json), trace_out("--trace", o->trace);
    one_stdout(json, trace_out);
    std::optional<check::explore_result> explored;
    std::vector<check::choice> schedule;
    bool want_run = true;
    if (replay_opt->count() > 0) {  // '' is a schedule too: the default one
      try {
        schedule = check::decode_schedule(o->replay);
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string("--replay: ") + e.what());
      }
    } else {
      progress_line progress(!o->quiet);
      const bool sampling = opt.strat != check::strategy::dfs;
      opt.progress = [&progress, &opt, sampling](std::uint64_t run) {
        // A capped --jobs dfs also counts the executions its merge runs again (a subtree
        // that ran past its share, explore_bound), which can pass the cap; the result
        // counts each once.
        const std::uint64_t done = std::min(run, opt.max_executions);
        const double rate = static_cast<double>(done) / std::max(progress.elapsed(), 1e-3);
        std::string eta;
        if (sampling && rate > 0)  // random/pct run exactly --max-executions
          eta =
              fmt::format(", ETA {:.0f} s", static_cast<double>(opt.max_executions - done) / rate);
        progress.update(fmt::format("check: {} executions, {:.0f}/s (at most {}){}", done, rate,
                                    opt.max_executions, eta));
      };
      explored = check::explore(cfg, opt);
      progress.done();
      schedule = explored->schedule;
      want_run = explored->violation;
    }
    std::unique_ptr<kern::trace_recorder> trace;
    if (trace_out.wanted()) trace = std::make_unique<kern::trace_recorder>(cfg.cpus);
    std::optional<check::replay_result> run;
    if (want_run) {
      try {
        run = check::replay(cfg, schedule, trace.get());
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string("--replay: ") + e.what());
      }
    }
    const report::check_report rep{
        cfg, opt, explored ? &*explored : nullptr, run ? &*run : nullptr,
        run ? report::replay_command(cfg, check::encode_schedule(run->schedule)) : std::string()};
    if (trace) {
      std::ostringstream doc;
      trace->write(doc, fmt::format("shootdown check {} {} {} CPUs {}", cfg.prog.name, cfg.arch,
                                    cfg.cpus, cfg.patch_spec));
      trace_out.write(doc.str());
    }
    json.write(report::check_json(rep).dump(2) + "\n");
    if (!o->quiet && !json.to_stdout() && !trace_out.to_stdout())
      report::print_check(std::cout, rep);
    return (run && run->violation) ? 1 : 0;
  };
}

}  // namespace sd::cli
