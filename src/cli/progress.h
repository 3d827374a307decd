// A one-line progress indicator on stderr for long runs (simulated time or executions done,
// the rate, an ETA where the total is known), redrawn at most 4 times a second; only on a
// terminal and without --quiet, so scripts and pipes see nothing. Cleared when done.
#pragma once
#include <chrono>
#include <mutex>
#include <string>

namespace sd::cli {

class progress_line {
 public:
  // Shown only when `wanted` and stderr is a terminal.
  explicit progress_line(bool wanted);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  bool active() const { return active_; }
  // Redraws the line with `text` if the last redraw is old enough (thread-safe).
  void update(const std::string& text);
  // Clears the line (before the results are printed); later updates draw nothing.
  void done();
  // Seconds since the indicator was made (for rates and ETAs).
  double elapsed() const;

 private:
  bool active_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_, last_{};
  bool drawn_ = false;
};

}  // namespace sd::cli
