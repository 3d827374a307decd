// Issue 10 item 9: `shootdown host` says when it measured nothing or was interrupted (exit
// codes in the README), undoes a huge-page raise a killed run left behind, and names the
// real cause when tracefs is mounted but not readable. Runs the real binary on this machine.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "host/hugetlb.h"
#include "run_binary.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::uint64_t nr_hugepages() {
  return std::stoull(read_file("/proc/sys/vm/nr_hugepages"));
}

TEST(HostExit, NothingMeasuredExits3AndSaysWhy) {
  if (sd::host::hugepages_free().value_or(0) >= 8)
    GTEST_SKIP() << "this machine has free huge pages, so the hugetlb phases run";
  const auto r =
      sd::test::run_binary("host --scenario hugetlb-fork-exit --iterations 5 --repeat 1");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("skipped: fewer than 8 free huge pages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing was measured"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("0 [0-0]"), std::string::npos) << r.out;
}

TEST(HostExit, InterruptedRunExits130AndMarksPhasesNotRun) {
  const std::string json = testing::TempDir() + "/interrupted.json";
  // Two million mprotect pairs take minutes; SIGINT after two seconds stops the first phase.
  const std::string cmd = std::string(SHOOTDOWN_BIN) +
                          " host --scenario mprotect-none-rw --iterations 2000000 --json " + json +
                          " > /dev/null 2>&1 & p=$!; sleep 2; kill -INT $p; wait $p";
  const int status = std::system(("sh -c '" + cmd + "'").c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["interrupted_by"], "SIGINT");
  const auto& last = j["phases"].back();
  EXPECT_EQ(last["not_run"], true) << last.dump();
  EXPECT_FALSE(last.contains("wall_ns_per_op")) << "a phase that did not run has no numbers";
}

TEST(HostExit, HugepageRaiseLeftByAKilledRunIsRestored) {
  if (geteuid() != 0) GTEST_SKIP() << "changing vm.nr_hugepages needs root";
  const std::uint64_t before = nr_hugepages();
  // What a run killed by SIGKILL leaves: the value raised, the state file saying so.
  {
    std::ofstream state(sd::host::k_hugepages_state);
    state << before << "\n" << before + 2 << "\n";
  }
  std::ofstream("/proc/sys/vm/nr_hugepages") << before + 2 << "\n";
  if (nr_hugepages() != before + 2) {
    std::ofstream("/proc/sys/vm/nr_hugepages") << before << "\n";
    std::filesystem::remove(sd::host::k_hugepages_state);
    GTEST_SKIP() << "the kernel could not raise vm.nr_hugepages here";
  }
  const auto r =
      sd::test::run_binary("host --scenario mprotect-none-rw --iterations 10 --repeat 1");
  EXPECT_EQ(nr_hugepages(), before) << r.out;
  EXPECT_FALSE(std::filesystem::exists(sd::host::k_hugepages_state));
  EXPECT_NE(r.out.find("left vm.nr_hugepages raised to " + std::to_string(before + 2) +
                       ": restored to " + std::to_string(before)),
            std::string::npos)
      << r.out;
  if (nr_hugepages() != before) std::ofstream("/proc/sys/vm/nr_hugepages") << before << "\n";
}

TEST(HostExit, TracefsMountedButUnreadableNamesThePermission) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount tracefs and to drop to nobody";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
  const char* root = "/sys/kernel/tracing";
  struct statfs fs {};
  bool mounted_here = false;
  if (statfs(root, &fs) != 0 || fs.f_type != TRACEFS_MAGIC) {
    if (mount("nodev", root, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      GTEST_SKIP() << "cannot mount tracefs at " << root;
    mounted_here = true;
  }
  // A copy of the binary that user nobody may execute.
  const std::string bin = "/tmp/shootdown-host-exit-test";
  std::filesystem::copy_file(SHOOTDOWN_BIN, bin, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(
      bin, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
               std::filesystem::perms::others_exec | std::filesystem::perms::group_read |
               std::filesystem::perms::others_read);
  const std::string out = testing::TempDir() + "/nobody.txt";
  const int status = std::system(
      ("setpriv --reuid=65534 --regid=65534 --clear-groups " + bin +
       " host --scenario mprotect-none-rw --iterations 10 --repeat 1 > " + out + " 2>&1")
          .c_str());
  if (mounted_here) umount2(root, MNT_DETACH);
  std::filesystem::remove(bin);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  const std::string text = read_file(out);
  EXPECT_NE(text.find("tracefs is mounted at /sys/kernel/tracing but this user may not read it "
                      "(permission denied)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("tracefs is not mounted"), std::string::npos) << text;
}

}  // namespace
