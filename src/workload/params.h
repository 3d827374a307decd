// Declared scenario parameters: one declaration per parameter (name, kind, help, default,
// bounds) drives parsing, validation, `shootdown list scenarios` and the docs.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sd::workload {

enum class param_kind { count, size, time, flag };

struct param_decl {
  std::string_view name;
  param_kind kind;
  std::string_view help;
  std::int64_t (*default_for)(unsigned cpus);  // defaults may scale with the machine
  std::int64_t min;
  std::int64_t max;
};

using param_values = std::map<std::string, std::int64_t, std::less<>>;

// What is wrong with a scenario's parameters on a machine: the message and the keys it
// involves ("cpus" for the machine's), so the error can say where each value was set.
struct param_problem {
  std::string message;
  std::vector<std::string_view> keys;
  explicit operator bool() const { return !message.empty(); }
};

// Parses `text` as the declared kind and checks bounds; throws std::invalid_argument.
std::int64_t parse_param(const param_decl& d, std::string_view text);
std::string format_param(const param_decl& d, std::int64_t v);
std::string_view kind_name(param_kind k);
const param_decl* find_param(std::span<const param_decl> decls, std::string_view name);
// The names, "a, b, c", for messages that list what is known.
std::string param_names(std::span<const param_decl> decls);

}  // namespace sd::workload
