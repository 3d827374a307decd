// shootdown triage: for every feature between two patch sets, on every arch, whether it is
// needed for safety (check with and without it) or only for speed (a seed scenario with and
// without it), with the evidence.
#include <fmt/format.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "kernel/kernel.h"
#include "report/triage_report.h"
#include "triage/triage.h"

namespace sd::cli {

namespace {

struct triage_opts {
  triage::options t;
  std::string json;
  bool markdown = false;
  bool quiet = false;
};

}  // namespace

command_fn add_triage(CLI::App& app) {
  auto o = std::make_shared<triage_opts>();
  o->t.jobs = std::max(1u, std::thread::hardware_concurrency());
  CLI::App* sub = app.add_subcommand(
      "triage",
      "for each feature in --to but not in --from, per arch: required for safety or only for "
      "speed, with the evidence (check runs with and without it, a seed scenario's costs)");
  sub->add_option("--from", o->t.from, "the patch set the backport starts from (e.g. v6.17)")
      ->type_name("SET")
      ->required();
  sub->add_option("--to", o->t.to, "the patch set with the backport (e.g. v6.17-backport)")
      ->type_name("SET")
      ->required();
  sub->add_option("--arches", o->t.arches, "comma-separated arches")
      ->type_name("A,A,...")
      ->delimiter(',')
      ->capture_default_str()
      ->check(one_of({"x86", "x86-kvm", "x86-invlpgb", "arm64"}));
  sub->add_option("--cpus", o->t.cpus, "CPUs of the cost runs (the check programs run on theirs)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(1, kern::MAX_CPUS));
  sub->add_option("--bound", o->t.bound, "check: preemptions per execution (dfs)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(0, 20));
  sub->add_option("--max-executions", o->t.max_executions,
                  "check: at most this many executions per run (the verdict then says it was "
                  "capped)")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(1, 1'000'000'000));
  sub->add_option("--jobs", o->t.jobs,
                  "runs at once (default: every core); the output is the same as with one")
      ->type_name("N")
      ->check(whole_number(1, 1024));
  sub->add_option("--json", o->json, "write the triage as JSON to FILE, or - for stdout")
      ->type_name("FILE|-");
  sub->add_flag("--markdown", o->markdown, "print a markdown table (for a mailing-list reply)");
  sub->add_flag("--quiet", o->quiet, "no human report");
  return [o]() -> int {
    output_file json("--json", o->json);
    progress_line progress(!o->quiet);
    triage::options opt = o->t;
    opt.progress = [&progress](std::size_t done, std::size_t all) {
      progress.update(fmt::format("triage: {} of {} runs done", done, all));
    };
    const triage::result r = triage::run(opt);
    progress.done();
    json.write(report::triage_json(r).dump(2) + "\n");
    if (!o->quiet && !json.to_stdout()) report::print_triage(std::cout, r, o->markdown);
    return r.to_violations.empty() ? 0 : 1;
  };
}

}  // namespace sd::cli
