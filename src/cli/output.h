// Where a document goes: a file named by a flag (--json, --trace), or stdout for "-".
// Files are opened before the run, so a bad path fails at once instead of after minutes of
// simulation; every write and the close are checked, so a full disk is an error (exit 2
// naming the flag and the path), not a silently truncated result.
#pragma once
#include <cstdio>
#include <string>

namespace sd::cli {

class output_file {
 public:
  output_file() = default;
  // `path` "" means no output; "-" means stdout. Throws input_error if it cannot be opened.
  output_file(const char* flag, std::string path);
  ~output_file();
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  output_file(output_file&& o) noexcept;
  output_file& operator=(output_file&& o) noexcept;

  const std::string& flag() const { return flag_; }
  bool wanted() const { return !path_.empty(); }
  bool to_stdout() const { return path_ == "-"; }
  // Writes the whole document and closes the file; throws input_error on any failure.
  void write(const std::string& doc);

 private:
  [[noreturn]] void fail(const char* what, int err) const;
  std::string flag_;
  std::string path_;
  std::FILE* f_ = nullptr;
};

// Refuses two outputs that both name stdout (their documents would interleave).
void one_stdout(const output_file& a, const output_file& b);
// Flushes stdout and throws input_error if anything written to it was lost (a full disk,
// a closed pipe): called once before exiting.
void check_stdout();

}  // namespace sd::cli
