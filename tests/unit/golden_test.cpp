// Simulate's results must not change by accident. For every built-in scenario, arch,
// three presets and three machine sizes, the JSON result (without its "config" echo) is
// reduced to a 64-bit FNV-1a hash and compared with tests/golden/<scenario>.txt. A change
// meant to change no behaviour (a faster data structure, a refactor) must leave every hash
// as it is; a change that alters counts on purpose regenerates the files with
//   SHOOTDOWN_UPDATE_GOLDEN=1 build/golden_test
// and says in its commit which rows changed and why (git diff tests/golden shows them).
// To see what changed in a row, compare `simulate --json -` of the old and new binaries.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "arch/arch.h"
#include "report/report.h"
#include "workload/builtin.h"
#include "workload/config.h"
#include "workload/run.h"

namespace {

using namespace sd;

constexpr const char* presets[] = {"none", "v6.17", "v7.0"};
constexpr unsigned cpu_counts[] = {4, 16, 64};

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string result_hash(const std::string& scenario, const std::string& arch, unsigned cpus,
                        const std::string& preset) {
  workload::scenario_spec spec = workload::load_scenario(scenario);
  spec.arch = arch;
  spec.cpus = cpus;
  spec.patches = workload::setting{"patches", preset, "test"};
  auto j = report::to_json(workload::simulate(workload::resolve(spec)));
  j.erase("config");
  std::ostringstream out;
  out << std::hex << fnv1a(j.dump());
  return out.str();
}

std::filesystem::path golden_file(const std::string& scenario) {
  return std::filesystem::path(SHOOTDOWN_SOURCE_DIR) / "tests" / "golden" / (scenario + ".txt");
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, SimulateResultsAreUnchanged) {
  const std::string& scenario = GetParam();
  std::map<std::string, std::string> now;  // "arch cpus preset" -> hash
  for (const auto& a : arch::arches())
    for (unsigned cpus : cpu_counts)
      for (const char* preset : presets)
        now[std::string(a.name) + " " + std::to_string(cpus) + " " + preset] =
            result_hash(scenario, std::string(a.name), cpus, preset);

  const auto path = golden_file(scenario);
  if (std::getenv("SHOOTDOWN_UPDATE_GOLDEN")) {
    std::ofstream f(path);
    f << "# arch cpus preset: FNV-1a of simulate's JSON without \"config\" "
         "(tests/unit/golden_test.cpp)\n";
    for (const auto& [key, hash] : now) f << key << ": " << hash << "\n";
    f.close();
    ASSERT_TRUE(f) << "cannot write " << path;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream f(path);
  ASSERT_TRUE(f) << "missing " << path << ": run SHOOTDOWN_UPDATE_GOLDEN=1 build/golden_test";
  std::map<std::string, std::string> stored;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(": ");
    ASSERT_NE(colon, std::string::npos) << path << ": bad line '" << line << "'";
    stored[line.substr(0, colon)] = line.substr(colon + 2);
  }
  for (const auto& [key, hash] : now) {
    const auto it = stored.find(key);
    if (it == stored.end()) {
      ADD_FAILURE() << scenario << " " << key << ": no stored result";
      continue;
    }
    EXPECT_EQ(it->second, hash) << scenario << " " << key
                                << ": simulate's result changed (tests/unit/golden_test.cpp "
                                   "says how to look and to accept it)";
  }
  EXPECT_EQ(stored.size(), now.size()) << path << " has rows this test no longer runs";
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> v;
  for (const auto& s : workload::builtins()) v.emplace_back(s.name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Golden, ::testing::ValuesIn(scenario_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
