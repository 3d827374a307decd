#include "cli/plot.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "report/metric_list.h"
#include "workload/config.h"

extern char** environ;

namespace sd::cli {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool gnuplot_on_path() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (std::size_t at = 0; at <= dirs.size();) {
    const std::size_t colon = std::min(dirs.find(':', at), dirs.size());
    const std::string dir = dirs.substr(at, colon - at);
    if (!dir.empty() && access((dir + "/gnuplot").c_str(), X_OK) == 0) return true;
    at = colon + 1;
  }
  return false;
}

// gnuplot string literal: single quotes, no quote inside (patch sets have none).
std::string quoted(std::string s) {
  std::erase(s, '\'');
  return "'" + s + "'";
}

}  // namespace

void check_plot_target(const std::string& path) {
  if (!ends_with(path, ".svg") && !ends_with(path, ".png"))
    throw workload::input_error("--plot " + path + ": the file must end in .svg or .png");
  if (!gnuplot_on_path())
    throw workload::input_error(
        "--plot: gnuplot is not installed (Debian: apt-get install gnuplot-nox; scripts/setup.sh "
        "installs it)");
  std::ofstream probe(path);  // fail before minutes of runs, not after
  if (!probe)
    throw workload::input_error("--plot: cannot open '" + path + "': " + std::strerror(errno));
}

void plot_sweep(const std::vector<report::compare_row>& rows, const std::string& metric,
                const std::string& path) {
  std::map<std::string, std::map<unsigned, double>> lines;  // patch set -> cpus -> value
  std::vector<std::string> order;
  for (const auto& r : rows) {
    if (!lines.contains(r.patch_set)) order.push_back(r.patch_set);
    if (const auto v = report::column_value(r, metric)) lines[r.patch_set][r.r.cfg.cpus] = *v;
  }
  char dir_template[] = "/tmp/shootdown-plot-XXXXXX";
  if (!mkdtemp(dir_template))
    throw workload::input_error(std::string("--plot: cannot make a temporary directory: ") +
                                std::strerror(errno));
  const std::filesystem::path dir(dir_template);
  const std::string data = (dir / "data.dat").string(), script = (dir / "plot.gp").string();
  {
    std::ofstream d(data);
    for (const auto& set : order) {  // one gnuplot index (block) per patch set
      d << "# " << set << "\n";
      for (const auto& [cpus, v] : lines[set]) d << cpus << " " << v << "\n";
      d << "\n\n";
    }
    const report::metric_info* m = report::find_metric(metric);
    const bool ns = metric.starts_with("op:") || (m && m->unit == report::metric_unit::ns);
    std::ofstream g(script);
    g << (ends_with(path, ".svg") ? "set terminal svg size 900,560 dynamic\n"
                                  : "set terminal pngcairo size 900,560\n");
    g << "set termoption noenhanced\n";  // metric names have underscores, not subscripts
    g << "set output " << quoted(path) << "\n";
    g << "set title "
      << quoted(workload::workload_name(rows.front().r.cfg) + " on " + rows.front().r.cfg.arch +
                ": " + metric + " by CPU count")
      << "\n";
    g << "set xlabel 'CPUs'\nset logscale x 2\nset grid\nset key left top\n";
    g << "set ylabel " << quoted(metric + (ns ? " (ns)" : "")) << "\n";
    g << "plot ";
    for (std::size_t i = 0; i < order.size(); ++i)
      g << (i ? ", " : "") << quoted(data) << " index " << i << " using 1:2 with linespoints title "
        << quoted(order[i]);
    g << "\n";
    if (!d || !g) throw workload::input_error("--plot: cannot write " + dir.string());
  }
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>("gnuplot"), const_cast<char*>(script.c_str()), nullptr};
  int status = 0;
  const int err = posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ);
  if (err == 0) waitpid(pid, &status, 0);
  std::filesystem::remove_all(dir);
  if (err != 0)
    throw workload::input_error(std::string("--plot: cannot run gnuplot: ") + std::strerror(err));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw workload::input_error("--plot: gnuplot failed (exit status " +
                                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) == 0 || ec)
    throw workload::input_error("--plot: gnuplot wrote nothing to '" + path + "'");
}

}  // namespace sd::cli
