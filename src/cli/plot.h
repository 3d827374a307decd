// compare --plot: one line per patch set of a metric against the CPU count, drawn by gnuplot
// (the Debian package; mmtests draws its graphs with it) as SVG or PNG.
#pragma once
#include <string>
#include <vector>

#include "report/compare.h"

namespace sd::cli {

// Throws input_error for a FILE that is neither .svg nor .png or cannot be written, or when
// gnuplot is not installed: called before the runs.
void check_plot_target(const std::string& path);
// Draws `metric` of `rows` (their patch sets and CPU counts) into `path`; throws input_error
// naming what failed (gnuplot's exit status, an empty file).
void plot_sweep(const std::vector<report::compare_row>& rows, const std::string& metric,
                const std::string& path);

}  // namespace sd::cli
