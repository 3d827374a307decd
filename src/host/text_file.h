// Reading a whole /proc or tracefs file, which may not exist or be readable here.
#pragma once
#include <fstream>
#include <sstream>
#include <string>

namespace sd::host {

// False (and `out` untouched) when the file cannot be opened.
inline bool read_text_file(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream b;
  b << f.rdbuf();
  out = b.str();
  return true;
}

}  // namespace sd::host
