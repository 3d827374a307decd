// The scalar metrics of a run, declared once: JSON, the human table, and `compare`
// (table/CSV/markdown) all print from this list, in this order.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/metrics.h"

namespace sd::report {

enum class metric_unit : std::uint8_t { count, ns };

struct metric_info {
  std::string_view name;
  std::string_view help;
  std::uint64_t (*get)(const kern::metrics&);
  metric_unit unit = metric_unit::count;
  // What measures it on a real kernel (tracepoint, /proc line, counter), or why nothing does.
  std::string_view kernel = "";
};

std::span<const metric_info> scalar_metrics();
const metric_info* find_metric(std::string_view name);

}  // namespace sd::report
