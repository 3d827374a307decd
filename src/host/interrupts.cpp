#include "host/interrupts.h"

#include <fstream>
#include <sstream>

namespace sd::host {

std::optional<irq_counts> parse_interrupts(const std::string& text, std::string& why) {
  std::istringstream in(text);
  std::string header;
  std::getline(in, header);
  std::size_t ncpus = 0;
  {
    std::istringstream h(header);
    std::string w;
    while (h >> w) ncpus += w.rfind("CPU", 0) == 0 ? 1 : 0;
  }
  irq_counts c;
  for (std::string line; std::getline(in, line);) {
    std::istringstream l(line);
    std::string name;
    l >> name;
    std::vector<std::uint64_t>* dst = name == "TLB:" ? &c.tlb : name == "CAL:" ? &c.cal : nullptr;
    if (!dst) continue;
    for (std::size_t i = 0; i < ncpus; ++i) {
      std::uint64_t v = 0;
      if (!(l >> v)) break;
      dst->push_back(v);
    }
  }
  if (c.tlb.size() != ncpus || ncpus == 0) {
    why =
        "/proc/interrupts has no per-CPU 'TLB' line (TLB shootdown IPIs are counted there on "
        "x86 only)";
    return std::nullopt;
  }
  if (c.cal.size() != ncpus) c.cal.assign(ncpus, 0);
  return c;
}

std::optional<irq_counts> read_interrupts(std::string& why) {
  std::ifstream f("/proc/interrupts");
  if (!f) {
    why = "cannot read /proc/interrupts";
    return std::nullopt;
  }
  std::stringstream buf;
  buf << f.rdbuf();
  return parse_interrupts(buf.str(), why);
}

}  // namespace sd::host
