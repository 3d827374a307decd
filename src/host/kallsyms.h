// Looking up kernel functions in the text of /proc/kallsyms ("ADDR t name [module]").
#pragma once
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace sd::host {

// The address of the text symbol `name` (" t " or " T "); none when it is absent. Without
// root (kptr_restrict) the kernel prints zeros: the symbol is there, its address unknown (0).
inline std::optional<std::uint64_t> symbol_address(const std::string& kallsyms,
                                                   std::string_view name) {
  std::istringstream in(kallsyms);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string addr, type, sym;
    if (!(fields >> addr >> type >> sym) || sym != name || (type != "t" && type != "T")) continue;
    try {
      return std::stoull(addr, nullptr, 16);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

inline bool has_symbol(const std::string& kallsyms, std::string_view name) {
  return symbol_address(kallsyms, name).has_value();
}

}  // namespace sd::host
