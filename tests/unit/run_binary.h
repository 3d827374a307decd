// Runs the built `shootdown` binary with arguments and returns its exit code and output
// (stdout and stderr together), as a user would see them.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace sd::test {

struct outcome {
  int code;
  std::string out;
};

inline outcome run_binary(const std::string& args) {
  const std::string cmd = std::string(SHOOTDOWN_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace sd::test
