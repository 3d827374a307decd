// Strict TOML input shared by scenario and program files: parse errors and every later
// error name "file:line: key".
#pragma once
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "workload/config.h"

namespace sd::workload {

// Parses `text`; a syntax error becomes an input_error naming path:line.
inline toml::table parse_toml(const std::string& text, const std::string& path) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw input_error(path + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
}

// "file.toml:12: key", for the message of an error about node n.
inline std::string toml_where(const std::string& path, const toml::node& n, std::string_view key) {
  return path + ":" + std::to_string(n.source().begin.line) + ": " + std::string(key);
}

}  // namespace sd::workload
