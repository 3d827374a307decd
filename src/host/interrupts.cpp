#include "host/interrupts.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace sd::host {

namespace {

std::size_t count_cpus(std::string_view header) {
  std::size_t n = 0;
  for (std::size_t pos = header.find("CPU"); pos != std::string_view::npos;
       pos = header.find("CPU", pos + 3))
    ++n;
  return n;
}

// Reads up to `n` numbers after the "NAME:" label of a line.
std::size_t parse_row(std::string_view line, std::vector<std::uint64_t>& dst, std::size_t n) {
  std::size_t i = line.find(':') + 1, got = 0;
  while (got < n) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size() || line[i] < '0' || line[i] > '9') break;
    std::uint64_t v = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9')
      v = v * 10 + static_cast<unsigned>(line[i++] - '0');
    dst[got++] = v;
  }
  return got;
}

}  // namespace

bool parse_interrupts(std::string_view text, irq_counts& out, std::string& why) {
  const std::size_t eol = text.find('\n');
  const std::size_t ncpus = count_cpus(text.substr(0, eol));
  if (out.tlb.size() != ncpus) {
    out.tlb.assign(ncpus, 0);
    out.cal.assign(ncpus, 0);
  }
  bool have_tlb = false;
  for (std::size_t pos = eol; pos != std::string_view::npos && pos + 1 < text.size();) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    std::string_view line =
        text.substr(start, pos == std::string_view::npos ? text.npos : pos - start);
    const std::size_t first = line.find_first_not_of(' ');
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    if (line.rfind("TLB:", 0) == 0) have_tlb = parse_row(line, out.tlb, ncpus) == ncpus;
    if (line.rfind("CAL:", 0) == 0) parse_row(line, out.cal, ncpus);
  }
  if (!have_tlb || ncpus == 0) {
    why =
        "/proc/interrupts has no per-CPU 'TLB' line (TLB shootdown IPIs are counted there on "
        "x86 only)";
    return false;
  }
  return true;
}

interrupt_reader::interrupt_reader() : buf_(1 << 20) {
  fd_ = ::open("/proc/interrupts", O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    why_ = "cannot read /proc/interrupts";
    return;
  }
  irq_counts probe;
  ok_ = read(probe);
}

bool interrupt_reader::read(irq_counts& out) {
  if (fd_ < 0) return false;
  std::size_t len = 0;
  for (ssize_t n;
       (n = pread(fd_, buf_.data() + len, buf_.size() - len, static_cast<off_t>(len))) > 0;)
    len += static_cast<std::size_t>(n);
  return parse_interrupts(std::string_view(buf_.data(), len), out, why_);
}

}  // namespace sd::host
