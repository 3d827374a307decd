#include <fmt/format.h>
#include <sys/utsname.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/run_options.h"
#include "host/host_params.h"
#include "host/host_report.h"
#include "host/host_run.h"
#include "patches/patches.h"
#include "predict/calibrate.h"
#include "predict/predict.h"
#include "workload/config.h"
#include "workload/cost_file.h"

namespace sd::cli {

command_fn add_host(CLI::App& app) {
  auto o = std::make_shared<host::host_options>();
  auto json = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  struct predict_opts {
    bool on = false;
    std::string arch, patches;
    std::string calibrate;  // --calibrate FILE
  };
  auto pred = std::make_shared<predict_opts>();
  CLI::App* sub = app.add_subcommand(
      "host", "run a scenario natively on this machine and measure the real kernel");
  std::string names;
  for (const auto& s : host::host_scenarios())
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  sub->add_option("--scenario", o->scenario, "one of: " + names)->type_name("NAME")->required();
  sub->add_option("--iterations", o->iterations,
                  "operations per phase and repeat (default per scenario)")
      ->type_name("N")
      ->check(whole_number(1, 100'000'000));
  std::string keys;
  for (const auto& s : host::host_scenarios()) {
    std::string own;
    for (const auto& d : host::host_params(s.name))
      own += (own.empty() ? "" : ", ") + std::string(d.name);
    if (!own.empty()) keys += fmt::format("; {}: {}", s.name, own);
  }
  sub->add_option("--set", *sets,
                  "a size of the scenario, KEY=VALUE (repeatable; --predict's model runs the same "
                  "sizes)" +
                      keys + " (README: host parameters)")
      ->type_name("KEY=VALUE");
  sub->add_option("--repeat", o->repeat, "repeats per phase, for median/min/max")
      ->type_name("N")
      ->capture_default_str()
      ->check(whole_number(1, 1000));
  sub->add_option("--timeout", o->timeout_s, "seconds per phase and repeat before stopping early")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->check(decimal_number(0.1, 3600.0, "seconds"));
  sub->add_option("--reserve-hugepages", o->reserve_hugepages,
                  "as root: raise vm.nr_hugepages to N for the run, then restore it")
      ->type_name("N")
      ->check(whole_number(1, std::uint64_t{1} << 20));
  sub->add_flag("--predict", pred->on,
                "also run the model of this machine on each phase's twin and print measured | "
                "model | equal per count (arch, CPUs and patch set guessed from the machine, "
                "each with its evidence)");
  sub->add_option("--calibrate", pred->calibrate,
                  "fit the cost parameters this scenario pins down so that the model of this "
                  "machine takes per op what it measured, and write them to FILE (kept: its "
                  "other values) for --cost-file")
      ->type_name("FILE");
  sub->add_option("--arch", pred->arch,
                  "--predict, --calibrate: model this arch instead of the guessed one")
      ->type_name("ARCH")
      ->check(one_of({"x86", "x86-kvm", "x86-invlpgb", "arm64"}));
  sub->add_option("--patches", pred->patches,
                  "--predict, --calibrate: model this patch set instead of the guessed one")
      ->type_name("SET");
  sub->add_option("--json", *json, "write the JSON result to FILE, or - for stdout")
      ->type_name("FILE|-");
  return [o, json, pred, sets]() -> int {
    for (const auto& s : *sets) o->sets.push_back(split(s, "--set"));
    const std::string partial = pred->calibrate + ".tmp";  // --calibrate writes here first
    if ((!pred->arch.empty() || !pred->patches.empty()) && !pred->on && pred->calibrate.empty())
      throw workload::input_error("--arch and --patches only apply with --predict or --calibrate");
    // --calibrate: the file's own values are the model's starting point and are kept; the
    // new file is written next to it and renamed over it only when the fit is done.
    workload::cost_file calibrated;
    output_file calibrate_out;
    if (!pred->calibrate.empty()) {
      if (!predict::calibrates(o->scenario))
        throw workload::input_error("--calibrate: " + o->scenario +
                                    " pins down no cost parameter (scenarios that do: " +
                                    predict::calibrated_scenarios() + ")");
      if (std::filesystem::exists(pred->calibrate))
        calibrated = workload::load_cost_file(pred->calibrate);
      calibrated.path = pred->calibrate;
      calibrate_out = output_file("--calibrate", partial);
    }
    if (!pred->patches.empty()) {
      try {
        patches::parse_patch_set(pred->patches);
      } catch (const std::invalid_argument& e) {
        throw workload::input_error(std::string("--patches: ") + e.what());
      }
    }
    output_file json_out("--json", *json);
    host::host_result r;
    try {
      r = host::run_host(*o);
    } catch (const std::invalid_argument& e) {
      throw workload::input_error(e.what());
    }
    std::optional<predict::prediction> prediction;
    std::optional<predict::calibration> calibration;
    if (pred->on || calibrate_out.wanted()) {
      utsname u{};
      uname(&u);
      predict::machine_guess m = predict::guess_machine(r.cpus, u.release, u.machine);
      if (!pred->arch.empty()) {
        m.arch = pred->arch;
        m.why.push_back("arch " + m.arch + ": --arch");
      }
      if (!pred->patches.empty()) {
        m.patches = pred->patches;
        m.why.push_back("patches " + m.patches + ": --patches");
      }
      if (pred->on) prediction = predict::predict(r, m);
      if (calibrate_out.wanted() && !r.interrupted_by) {
        try {
          calibration = predict::calibrate(r, m, calibrated.costs, calibrated.machine);
          calibrate_out.write(
              workload::format_cost_file(predict::merge_into(std::move(calibrated), *calibration)));
        } catch (...) {
          // FILE stays as it was; the half-made file next to it goes.
          std::error_code ignored;
          std::filesystem::remove(partial, ignored);
          throw;
        }
        std::error_code ec;
        std::filesystem::rename(partial, pred->calibrate, ec);
        if (ec)
          throw workload::input_error("--calibrate: cannot replace " + pred->calibrate + ": " +
                                      ec.message());
      }
    }
    if (calibrate_out.wanted() && !calibration) {
      std::error_code ignored;  // interrupted: nothing to write
      std::filesystem::remove(partial, ignored);
    }
    if (json_out.wanted()) {
      nlohmann::ordered_json j = host::to_json(r);
      if (prediction) predict::add_to_json(j, *prediction);
      if (calibration) {
        j["calibration"] = predict::to_json(*calibration);
        j["calibration"]["file"] = pred->calibrate;
      }
      json_out.write(j.dump(2) + "\n");
    }
    if (!json_out.to_stdout()) {
      host::print_table(std::cout, r);
      if (prediction) predict::print_prediction(std::cout, *prediction);
      if (calibration) predict::print_calibration(std::cout, *calibration, pred->calibrate);
    }
    // Exit codes (README): 128 + the signal when interrupted (partial results were written),
    // 3 when every phase was skipped (nothing measured), else 0.
    if (r.interrupted_by) return 128 + r.interrupted_by;
    if (!host::measured_anything(r)) {
      std::cerr << "shootdown: host: nothing was measured: every phase was skipped (the table "
                   "and the notes say why)\n";
      return 3;
    }
    return 0;
  };
}

}  // namespace sd::cli
