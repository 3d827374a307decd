// `shootdown compare`: the same workload under several patch sets (and CPU counts), side by
// side. Columns are scalar metrics (report/metric_list.h), "op:NAME" (mean latency of a
// named operation, ns) or "flushes_per:NAME" (TLB flushes per such operation). Ratios are against
// the first patch set at the same CPU count.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "workload/run.h"

namespace sd::report {

struct compare_row {
  std::string patch_set;
  workload::run_result r;
};

// A column's value in a row; nullopt when the row has no such operation.
std::optional<double> column_value(const compare_row& row, const std::string& column);
// Every scalar metric that is non-zero in some row, then every operation's mean latency.
std::vector<std::string> default_columns(const std::vector<compare_row>& rows);
// Throws std::invalid_argument for an unknown column name.
void check_column(const std::string& column);
// After the runs: throws std::invalid_argument for an op:NAME or flushes_per:NAME column
// whose operation no run performed (it would print an empty column).
void check_column_ran(const std::string& column, const std::vector<compare_row>& rows);

void print_compare(std::ostream& out, const std::vector<compare_row>& rows,
                   const std::vector<std::string>& columns, bool markdown);
void print_compare_csv(std::ostream& out, const std::vector<compare_row>& rows,
                       const std::vector<std::string>& columns);
nlohmann::ordered_json compare_json(const std::vector<compare_row>& rows,
                                    const std::vector<std::string>& columns);

}  // namespace sd::report
