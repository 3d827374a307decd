#include "cli/output.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "workload/config.h"

namespace sd::cli {

output_file::output_file(const char* flag, std::string path) : flag_(flag), path_(std::move(path)) {
  if (!wanted() || to_stdout()) return;
  f_ = std::fopen(path_.c_str(), "w");
  if (!f_) fail("cannot open", errno);
}

output_file::~output_file() {
  if (f_) std::fclose(f_);
}

output_file::output_file(output_file&& o) noexcept
    : flag_(std::move(o.flag_)), path_(std::move(o.path_)), f_(std::exchange(o.f_, nullptr)) {}

output_file& output_file::operator=(output_file&& o) noexcept {
  if (this != &o) {
    if (f_) std::fclose(f_);
    flag_ = std::move(o.flag_);
    path_ = std::move(o.path_);
    f_ = std::exchange(o.f_, nullptr);
  }
  return *this;
}

void output_file::fail(const char* what, int err) const {
  throw workload::input_error(
      fmt::format("{}: {} '{}': {}", flag_, what, path_, err ? std::strerror(err) : "write error"));
}

void output_file::write(const std::string& doc) {
  if (!wanted()) return;
  if (to_stdout()) {
    std::cout << doc;
    check_stdout();
    return;
  }
  if (!f_) fail("already written", 0);
  errno = 0;
  const bool wrote = std::fwrite(doc.data(), 1, doc.size(), f_) == doc.size();
  const int werr = errno;
  const bool flushed = wrote && std::fflush(f_) == 0;
  const int ferr = errno;
  std::FILE* f = std::exchange(f_, nullptr);
  const bool closed = std::fclose(f) == 0;
  if (!wrote) fail("cannot write", werr);
  if (!flushed) fail("cannot write", ferr);
  if (!closed) fail("cannot close", errno);
}

void one_stdout(const output_file& a, const output_file& b) {
  if (a.to_stdout() && b.to_stdout())
    throw workload::input_error(a.flag() + " - and " + b.flag() +
                                " -: only one of them can go to stdout");
}

void check_stdout() {
  std::cout.flush();
  if (!std::cout) throw workload::input_error("cannot write to standard output");
}

}  // namespace sd::cli
