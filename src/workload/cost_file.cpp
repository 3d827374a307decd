#include "workload/cost_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "workload/builtin.h"
#include "workload/input_file.h"
#include "workload/toml_input.h"
#include "workload/units.h"

namespace sd::workload {

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\')
      out += std::string("\\") + ch;
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\u{:04x}", c);
    else
      out += ch;
  }
  return out + "\"";
}

// A key as written: bare when TOML allows it, else quoted.
std::string key_text(const std::string& k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : quoted(k);
}

}  // namespace

cost_file parse_cost_file(const std::string& text, const std::string& path) {
  const toml::table root = parse_toml(text, path);
  cost_file f;
  f.path = path;
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    const std::string at = toml_where(path, v, key);
    if (!v.is_table())
      throw input_error(at +
                        ": unknown key (a cost file has the sections [calibration], "
                        "[cost], [machine] and [source])");
    const toml::table& t = *v.as_table();
    if (key == "cost") {
      for (const auto& [pk, pv] : t) {
        const std::string pat = toml_where(path, pv, "[cost] " + std::string(pk.str()));
        if (!pv.is_string())
          throw input_error(pat + ": expected a time with a unit, such as \"250ns\"");
        f.costs.push_back({std::string(pk.str()), *pv.value<std::string>(), pat});
        (void)cost_value(f.costs.back());
      }
    } else if (key == "machine") {
      for (const auto& [pk, pv] : t) {
        const std::string name(pk.str());
        const std::string pat = toml_where(path, pv, "[machine] " + name);
        const param_decl* d = find_param(common_params(), name);
        if (!d)
          throw input_error(
              pat + ": not a machine parameter (known: " + param_names(common_params()) + ")");
        if (!pv.is_string()) throw input_error(pat + ": expected a string, such as \"1ms\"");
        try {
          (void)parse_param(*d, *pv.value<std::string>());
        } catch (const std::invalid_argument& e) {
          throw input_error(pat + ": " + e.what());
        }
        f.machine.push_back({name, *pv.value<std::string>(), pat});
      }
    } else if (key == "calibration" || key == "source") {
      for (const auto& [ek, ev] : t) {
        const std::string eat = toml_where(path, ev, "[" + key + "] " + std::string(ek.str()));
        if (!ev.is_string()) throw input_error(eat + ": expected a string");
        (key == "calibration" ? f.calibration : f.sources)[std::string(ek.str())] =
            *ev.value<std::string>();
      }
    } else {
      throw input_error(at +
                        ": unknown section (known: [calibration], [cost], [machine], [source])");
    }
  }
  // A source names a parameter the file sets (checked after every section was read, as
  // TOML does not order sections).
  if (const auto* src = root["source"].as_table())
    for (const auto& [sk, sv] : *src) {
      const std::string name(sk.str());  // a structured binding is not captured (clang 14)
      const auto named = [&](const setting& s) { return s.key == name; };
      const bool set = std::any_of(f.costs.begin(), f.costs.end(), named) ||
                       std::any_of(f.machine.begin(), f.machine.end(), named);
      if (!set)
        throw input_error(toml_where(path, sv, "[source] " + std::string(sk.str())) +
                          ": no such parameter in [cost] or [machine]");
    }
  return f;
}

cost_file load_cost_file(const std::string& path) {
  const auto text = read_input_file(path, "cost");
  if (!text) throw input_error(path + ": no such cost file");
  return parse_cost_file(*text, path);
}

std::string format_cost_file(const cost_file& f) {
  std::string out =
      "# shootdown cost file: simulate and compare load it with --cost-file (--cost overrides "
      "it);\n# `shootdown list costs --cost-file FILE` shows it beside the presets.\n";
  if (!f.calibration.empty()) {
    out += "\n[calibration]\n";
    for (const auto& [k, v] : f.calibration) out += key_text(k) + " = " + quoted(v) + "\n";
  }
  out += "\n[cost]\n";
  for (const auto& s : f.costs) out += s.key + " = " + quoted(s.text) + "\n";
  if (!f.machine.empty()) {
    out += "\n[machine]\n";
    for (const auto& s : f.machine) out += s.key + " = " + quoted(s.text) + "\n";
  }
  if (!f.sources.empty()) {
    out += "\n[source]\n";
    for (const auto& [k, v] : f.sources) out += key_text(k) + " = " + quoted(v) + "\n";
  }
  return out;
}

}  // namespace sd::workload
