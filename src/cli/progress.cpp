#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace sd::cli {

progress_line::progress_line(bool wanted)
    : active_(wanted && isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

progress_line::~progress_line() {
  done();
}

void progress_line::done() {
  const std::lock_guard lock(mu_);
  if (drawn_) std::fputs("\r\033[K", stderr);  // leave no half line before the table
  drawn_ = false;
  active_ = false;
}

double progress_line::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress_line::update(const std::string& text) {
  if (!active_) return;
  const std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
}

}  // namespace sd::cli
