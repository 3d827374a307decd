#include "workload/params.h"

#include <stdexcept>

#include "workload/units.h"

namespace sd::workload {

std::int64_t parse_param(const param_decl& d, std::string_view text) {
  std::int64_t v = 0;
  switch (d.kind) {
    case param_kind::count:
      v = parse_count(text);
      break;
    case param_kind::size:
      v = parse_size(text);
      break;
    case param_kind::time:
      v = parse_time_ns(text);
      break;
    case param_kind::flag:
      v = parse_flag(text) ? 1 : 0;
      break;
  }
  if (v < d.min || v > d.max)
    throw std::invalid_argument(std::string(d.name) + " must be between " + format_param(d, d.min) +
                                " and " + format_param(d, d.max) + ", got " + std::string(text));
  return v;
}

std::string format_param(const param_decl& d, std::int64_t v) {
  switch (d.kind) {
    case param_kind::size:
      return format_size(v);
    case param_kind::time:
      return format_time_ns(v);
    case param_kind::flag:
      return v ? "on" : "off";
    case param_kind::count:
      break;
  }
  return std::to_string(v);
}

std::string_view kind_name(param_kind k) {
  switch (k) {
    case param_kind::count:
      return "count";
    case param_kind::size:
      return "size";
    case param_kind::time:
      return "time";
    case param_kind::flag:
      return "on/off";
  }
  return "?";
}

const param_decl* find_param(std::span<const param_decl> decls, std::string_view name) {
  for (const auto& d : decls)
    if (d.name == name) return &d;
  return nullptr;
}

std::string param_names(std::span<const param_decl> decls) {
  std::string names;
  for (const auto& d : decls) names += (names.empty() ? "" : ", ") + std::string(d.name);
  return names;
}

}  // namespace sd::workload
