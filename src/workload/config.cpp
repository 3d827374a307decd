#include "workload/config.h"

#include <sstream>
#include "workload/input_file.h"
#include "workload/toml_input.h"

#include "arch/arch.h"
#include "kernel/kernel.h"
#include "program/program.h"
#include "workload/builtin.h"
#include "workload/units.h"

namespace sd::workload {

namespace {

std::string known_builtins() {
  std::string s;
  for (const auto& b : builtins()) s += (s.empty() ? "" : ", ") + std::string(b.name);
  return s;
}

std::string text_of(const toml::node& n, const std::string& at) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_boolean()) return *n.value<bool>() ? "on" : "off";
  if (n.is_floating_point()) {
    std::ostringstream o;
    o << *n.value<double>();
    return o.str();
  }
  throw input_error(at + ": expected a number, a string with a unit, or true/false");
}

void read_table(const toml::table& t, const std::string& path, const char* section,
                std::vector<setting>& out) {
  for (const auto& [k, v] : t) {
    const std::string at =
        toml_where(path, v, std::string("[") + section + "] " + std::string(k.str()));
    out.push_back({std::string(k.str()), text_of(v, at), at});
  }
}

// "file.toml:4: [params] threads = 8", "--set threads=8", "--cpus 8".
std::string set_at(const std::string& origin, const std::string& value) {
  if (origin.starts_with("--"))
    return origin + (origin.find(' ') == std::string::npos ? " " : "=") + value;
  return origin + " = " + value;
}

// "ORIGIN = VALUE and ORIGIN = VALUE conflict: WHAT: MESSAGE (KEY = VALUE: default)": each value
// the problem involves, where it was set (file:line and key, or the flag), or that it is
// the default.
std::string conflict_message(const scenario_spec& spec, const run_config& cfg,
                             std::span<const param_decl> own, const std::string& what,
                             const param_problem& problem) {
  std::vector<std::string> given, defaults;
  for (std::string_view key : problem.keys) {
    std::string value, origin;
    if (key == "cpus") {
      value = std::to_string(cfg.cpus);
      origin = spec.cpus_origin;
    } else {
      const param_decl* d = find_param(own, key);
      if (!d) d = find_param(common_params(), key);
      value = format_param(*d, cfg.params.at(std::string(key)));
      for (const auto& s : spec.params)
        if (s.key == key) origin = s.origin;
    }
    if (origin.empty())
      defaults.push_back(std::string(key) + " = " + value);
    else
      given.push_back(set_at(origin, value));
  }
  std::string out;
  for (std::size_t i = 0; i < given.size(); ++i)
    out += (i == 0 ? "" : i + 1 == given.size() ? " and " : ", ") + given[i];
  if (!given.empty()) out += given.size() == 1 ? ": " : " conflict: ";
  out += what + ": " + problem.message;
  if (!defaults.empty()) {
    out += " (";
    for (std::size_t i = 0; i < defaults.size(); ++i) out += (i ? ", " : "") + defaults[i];
    out += defaults.size() == 1 ? ": the default)" : ": the defaults)";
  }
  return out;
}

}  // namespace

scenario_spec parse_scenario_toml(const std::string& text, const std::string& path) {
  const toml::table root = parse_toml(text, path);
  scenario_spec spec;
  spec.source = path;
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    const std::string at = toml_where(path, v, key);
    if (key == "scenario") {
      if (!v.is_string()) throw input_error(at + ": expected the name of a built-in workload");
      spec.scenario = *v.value<std::string>();
      if (!find_builtin(spec.scenario))
        throw input_error(at + ": unknown workload '" + spec.scenario +
                          "' (known: " + known_builtins() + ")");
    } else if (key == "description") {
      if (!v.is_string()) throw input_error(at + ": expected a string");
    } else if (key == "machine" && v.is_table()) {
      for (const auto& [mk, mv] : *v.as_table()) {
        const std::string mkey(mk.str());
        const std::string mat = toml_where(path, mv, "[machine] " + mkey);
        if (mkey == "arch") {
          if (!mv.is_string()) throw input_error(mat + ": expected a string such as \"x86\"");
          spec.arch = *mv.value<std::string>();
          spec.arch_origin = mat;
        } else if (mkey == "patches") {
          if (!mv.is_string())
            throw input_error(
                mat + ": expected a patch set such as \"v7.0\" or \"v6.17+uffd-move-batch\"");
          spec.patches = setting{mkey, *mv.value<std::string>(), mat};
        } else if (mkey == "cpus" || mkey == "seed") {
          if (!mv.is_integer() || *mv.value<std::int64_t>() < 0)
            throw input_error(mat + ": expected a non-negative integer");
          const auto n = *mv.value<std::int64_t>();
          if (mkey == "cpus") {
            if (n < 1 || n > kern::MAX_CPUS)
              throw input_error(mat + ": impossible machine: cpus must be 1 to 4096");
            spec.cpus = static_cast<unsigned>(n);
            spec.cpus_origin = mat;
          } else {
            spec.seed = static_cast<std::uint64_t>(n);
          }
        } else {
          throw input_error(mat + ": unknown key (known: arch, cpus, seed, patches)");
        }
      }
    } else if (key == "params" && v.is_table()) {
      read_table(*v.as_table(), path, "params", spec.params);
    } else if (key == "cost" && v.is_table()) {
      read_table(*v.as_table(), path, "cost", spec.costs);
    } else if (key == "knobs" && v.is_table()) {
      read_table(*v.as_table(), path, "knobs", spec.knobs);
    } else {
      throw input_error(at +
                        ": unknown key (known: scenario, description, [machine], [params], "
                        "[cost], [knobs])");
    }
  }
  if (spec.scenario.empty())
    throw input_error(path + ": missing key 'scenario' (the built-in workload to run)");
  return spec;
}

scenario_spec load_scenario(const std::string& name_or_file) {
  if (find_builtin(name_or_file)) {
    scenario_spec s;
    s.scenario = name_or_file;
    return s;
  }
  const auto text = read_input_file(name_or_file, "scenario");
  if (!text)
    throw input_error("unknown scenario '" + name_or_file + "': not a built-in (" +
                      known_builtins() + ") and no such file");
  return parse_scenario_toml(*text, name_or_file);
}

std::string workload_name(const run_config& cfg) {
  return cfg.program ? "program " + cfg.program->name : cfg.scenario;
}

std::pair<cost::param, sim::sim_time> cost_value(const setting& s) {
  const auto p = cost::find_param(s.key);
  if (!p) throw input_error(s.origin + ": unknown cost parameter (see 'shootdown list costs')");
  try {
    const auto ns = parse_time_ns(s.text);
    if (ns > cost::max_value(*p))
      throw std::invalid_argument("at most " + format_time_ns(cost::max_value(*p)) +
                                  " (a real machine's range), got " + s.text);
    return {*p, ns};
  } catch (const std::invalid_argument& e) {
    throw input_error(s.origin + ": " + e.what());
  }
}

run_config resolve(const scenario_spec& spec) {
  run_config cfg;
  const builtin_scenario* b = nullptr;
  if (spec.parsed_program) {
    cfg.program = spec.parsed_program;
    cfg.source = cfg.program->source;
  } else if (spec.program) {
    cfg.program = std::make_shared<const program::program>(program::load_program(*spec.program));
    cfg.source = cfg.program->source;
  } else {
    b = find_builtin(spec.scenario);
    if (!b) throw input_error("unknown scenario '" + spec.scenario + "'");
    cfg.scenario = spec.scenario;
    cfg.source = spec.source;
  }
  // A program's parameters are only the machine's (common_params); a scenario's its own too.
  const std::span<const param_decl> own = b ? b->params : std::span<const param_decl>{};
  const std::string what = b ? cfg.scenario : "program " + cfg.program->name;
  cfg.arch = spec.arch.value_or("x86");
  if (!arch::find_arch(cfg.arch)) {
    std::string known;
    for (const auto& a : arch::arches()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    throw input_error((spec.arch_origin.empty() ? "" : spec.arch_origin + ": ") + "unknown arch '" +
                      cfg.arch + "' (known: " + known + ")");
  }
  cfg.cpus = spec.cpus.value_or(cfg.program ? cfg.program->min_cpus() : k_default_cpus);
  if (cfg.cpus < 1 || cfg.cpus > kern::MAX_CPUS)
    throw input_error("impossible machine: --cpus must be 1 to 4096, got " +
                      std::to_string(cfg.cpus));
  cfg.seed = spec.seed.value_or(1);
  cfg.patch_spec = spec.patches ? spec.patches->text : std::string(patches::k_default_preset);
  try {
    cfg.patches = patches::parse_patch_set(cfg.patch_spec);
  } catch (const std::invalid_argument& e) {
    throw input_error((spec.patches ? spec.patches->origin + ": " : std::string()) + e.what());
  }

  for (const auto& d : own) cfg.params[std::string(d.name)] = d.default_for(cfg.cpus);
  for (const auto& d : common_params()) cfg.params[std::string(d.name)] = d.default_for(cfg.cpus);
  for (const auto& s : spec.params) {
    const param_decl* d = find_param(own, s.key);
    if (!d) d = find_param(common_params(), s.key);
    if (!d) {
      const std::string known = own.empty()
                                    ? param_names(common_params())
                                    : param_names(own) + ", " + param_names(common_params());
      throw input_error(s.origin + ": unknown parameter of " + what + " (known: " + known + ")");
    }
    try {
      cfg.params[s.key] = parse_param(*d, s.text);
    } catch (const std::invalid_argument& e) {
      throw input_error(s.origin + ": " + e.what());
    }
  }
  if (auto problem = validate_common(cfg.params))
    throw input_error(conflict_message(spec, cfg, own, "bad setting for " + what, problem));
  if (b) {
    if (auto problem = b->validate(cfg.cpus, cfg.params))
      throw input_error(
          conflict_message(spec, cfg, own, "impossible machine for " + what, problem));
  } else if (cfg.cpus < cfg.program->min_cpus()) {
    throw input_error((spec.cpus_origin.empty()
                           ? ""
                           : set_at(spec.cpus_origin, std::to_string(cfg.cpus)) + ": ") +
                      "impossible machine for " + what + ": it runs on " +
                      std::to_string(cfg.program->min_cpus()) + " CPUs, the machine has " +
                      std::to_string(cfg.cpus));
  }

  cfg.costs = cost::cost_model(arch::find_arch(cfg.arch)->costs);
  cfg.cost_file = spec.cost_file;
  for (const auto& s : spec.costs) {
    const auto [p, ns] = cost_value(s);
    cfg.costs.set(p, ns);
    cfg.cost_overrides[s.key] = ns;
  }
  for (const auto& s : spec.knobs) {
    auto kb = patches::find_knob(s.key);
    if (!kb) throw input_error(s.origin + ": unknown knob (see 'shootdown list knobs')");
    try {
      const bool on = parse_flag(s.text);
      cfg.knobs.set(*kb, on);
      cfg.knob_overrides[s.key] = on;
    } catch (const std::invalid_argument& e) {
      throw input_error(s.origin + ": " + e.what());
    }
  }
  return cfg;
}

}  // namespace sd::workload
