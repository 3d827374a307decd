#include "report/compare.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <set>
#include <stdexcept>

#include "report/metric_list.h"
#include "report/report.h"
#include "report/text_table.h"

namespace sd::report {

namespace {

constexpr std::string_view k_op_prefix = "op:";
constexpr std::string_view k_flushes_prefix = "flushes_per:";

// The first row with the same CPU count: the base of this row's ratios.
const compare_row& base_of(const std::vector<compare_row>& rows, const compare_row& row) {
  for (const auto& r : rows)
    if (r.r.cfg.cpus == row.r.cfg.cpus) return r;
  return rows.front();
}

std::optional<double> ratio(const std::vector<compare_row>& rows, const compare_row& row,
                            const std::string& column) {
  const auto v = column_value(row, column);
  const auto b = column_value(base_of(rows, row), column);
  if (!v || !b || *b == 0) return std::nullopt;
  return *v / *b;
}

std::string fmt_value(std::optional<double> v) {
  if (!v) return "-";
  if (*v == static_cast<double>(static_cast<std::uint64_t>(*v)))
    return fmt::format("{}", static_cast<std::uint64_t>(*v));
  return fmt::format("{:.1f}", *v);
}

// A time column is printed with its unit in the tables (CSV and JSON keep nanoseconds).
bool is_time_column(const std::string& column) {
  if (column.starts_with(k_op_prefix)) return true;
  const metric_info* m = find_metric(column);
  return m && m->unit == metric_unit::ns;
}

std::string fmt_cell(std::optional<double> v, const std::string& column) {
  if (v && is_time_column(column)) return human_time(*v);
  return fmt_value(v);
}

std::string fmt_ratio(std::optional<double> r) {
  return r ? fmt::format("x{:.3g}", *r) : "x-";
}

}  // namespace

std::optional<double> column_value(const compare_row& row, const std::string& column) {
  for (auto prefix : {k_op_prefix, k_flushes_prefix}) {
    if (!column.starts_with(prefix)) continue;
    const auto& ops = row.r.stats.op_latency;
    auto it = ops.find(column.substr(prefix.size()));
    if (it == ops.end() || it->second.count == 0) return std::nullopt;
    const auto n = static_cast<double>(it->second.count);
    return static_cast<double>(prefix == k_op_prefix ? it->second.total_ns : it->second.flushes) /
           n;
  }
  const metric_info* m = find_metric(column);
  if (!m) return std::nullopt;
  return static_cast<double>(m->get(row.r.stats));
}

void check_column(const std::string& column) {
  if (column.starts_with(k_op_prefix) || column.starts_with(k_flushes_prefix) ||
      find_metric(column))
    return;
  std::string known;
  for (const auto& m : scalar_metrics()) known += (known.empty() ? "" : ", ") + std::string(m.name);
  throw std::invalid_argument(
      "unknown metric '" + column + "' (known: " + known +
      ", op:NAME for an operation's mean latency, flushes_per:NAME for its flushes)");
}

void check_column_ran(const std::string& column, const std::vector<compare_row>& rows) {
  for (auto prefix : {k_op_prefix, k_flushes_prefix}) {
    if (!column.starts_with(prefix)) continue;
    std::set<std::string> ops;
    for (const auto& r : rows)
      for (const auto& [name, o] : r.r.stats.op_latency)
        if (o.count) ops.insert(name);
    if (ops.contains(column.substr(prefix.size()))) return;
    throw std::invalid_argument(
        ops.empty() ? fmt::format("no run performed operation '{}': this workload times none",
                                  column.substr(prefix.size()))
                    : fmt::format("no run performed operation '{}' (operations: {})",
                                  column.substr(prefix.size()), fmt::join(ops, ", ")));
  }
}

std::vector<std::string> default_columns(const std::vector<compare_row>& rows) {
  std::vector<std::string> cols;
  for (const auto& m : scalar_metrics()) {
    bool any = m.name == "sim_time_ns";
    for (const auto& r : rows) any = any || m.get(r.r.stats) != 0;
    if (any) cols.emplace_back(m.name);
  }
  std::map<std::string, bool> ops;
  for (const auto& r : rows)
    for (const auto& [name, o] : r.r.stats.op_latency) ops[name] = true;
  for (const auto& [name, _] : ops) {
    cols.push_back(std::string(k_op_prefix) + name);
    cols.push_back(std::string(k_flushes_prefix) + name);
  }
  return cols;
}

void print_compare(std::ostream& out, const std::vector<compare_row>& rows,
                   const std::vector<std::string>& columns, bool markdown) {
  if (rows.empty()) return;
  const auto& c0 = rows.front().r.cfg;
  if (!markdown)
    fmt::print(out,
               "\n Compare '{}' on {}, seed {} (ratios vs the first patch set, same CPUs):\n\n",
               workload::workload_name(c0), c0.arch, c0.seed);
  // One table, metrics as rows and runs as columns: reads like perf stat side by side.
  std::vector<std::string> heads;
  for (const auto& r : rows) heads.push_back(fmt::format("{} @{}", r.patch_set, r.r.cfg.cpus));
  std::vector<std::vector<std::string>> cells;
  for (const auto& col : columns) {
    std::vector<std::string> line{col};
    for (const auto& r : rows) {
      const auto v = column_value(r, col);
      const bool is_base = &base_of(rows, r) == &r;
      line.push_back(
          is_base ? fmt_cell(v, col)
                  : fmt::format("{} ({})", fmt_cell(v, col), fmt_ratio(ratio(rows, r, col))));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(rows.size() + 1, 0);
  width[0] = 6;
  for (std::size_t i = 0; i < heads.size(); ++i) width[i + 1] = heads[i].size();
  for (const auto& line : cells)
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  auto print_line = [&](const std::vector<std::string>& line) {
    if (markdown) out << "|";
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (markdown)
        fmt::print(out, " {} |", line[i]);
      else if (i == 0)
        fmt::print(out, " {:<{}}", line[i], width[i]);
      else
        fmt::print(out, "  {:>{}}", line[i], width[i]);
    }
    out << "\n";
  };
  std::vector<std::string> head{"metric"};
  head.insert(head.end(), heads.begin(), heads.end());
  print_line(head);
  if (markdown) {
    out << "|---|";
    for (std::size_t i = 0; i < rows.size(); ++i) out << "---:|";
    out << "\n";
  }
  for (const auto& line : cells) print_line(line);
  std::vector<std::string> viol{"violations"};
  for (const auto& r : rows) viol.push_back(fmt::format("{}", r.r.violations_total));
  print_line(viol);
  if (!markdown) out << "\n";
}

void print_compare_csv(std::ostream& out, const std::vector<compare_row>& rows,
                       const std::vector<std::string>& columns) {
  out << "patch_set,cpus";
  for (const auto& col : columns) out << "," << col << "," << col << "_ratio";
  out << ",violations\n";
  for (const auto& r : rows) {
    fmt::print(out, "{},{}", r.patch_set, r.r.cfg.cpus);
    for (const auto& col : columns) {
      const auto v = column_value(r, col);
      const auto q = ratio(rows, r, col);
      out << "," << (v ? fmt_value(v) : "") << "," << (q ? fmt::format("{:.6g}", *q) : "");
    }
    fmt::print(out, ",{}\n", r.r.violations_total);
  }
}

nlohmann::ordered_json compare_json(const std::vector<compare_row>& rows,
                                    const std::vector<std::string>& columns) {
  nlohmann::ordered_json j;
  if (rows.empty()) return j;
  const auto& c0 = rows.front().r.cfg;
  j["scenario"] = workload::workload_name(c0);
  j["arch"] = c0.arch;
  j["seed"] = c0.seed;
  j["columns"] = columns;
  j["version"] = std::string(version());
  nlohmann::ordered_json out_rows = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json row;
    row["patch_set"] = r.patch_set;
    nlohmann::ordered_json feats = nlohmann::ordered_json::array();
    for (auto f : r.r.cfg.patches.names()) feats.push_back(std::string(f));
    row["patches"] = feats;
    row["cpus"] = r.r.cfg.cpus;
    nlohmann::ordered_json vals = nlohmann::ordered_json::object();
    nlohmann::ordered_json ratios = nlohmann::ordered_json::object();
    for (const auto& col : columns) {
      const auto v = column_value(r, col);
      const auto q = ratio(rows, r, col);
      vals[col] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
      ratios[col] = q ? nlohmann::ordered_json(*q) : nlohmann::ordered_json(nullptr);
    }
    row["metrics"] = vals;
    row["ratios"] = ratios;
    row["violations_total"] = r.r.violations_total;
    out_rows.push_back(row);
  }
  j["rows"] = out_rows;
  return j;
}

}  // namespace sd::report
