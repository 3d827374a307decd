// Per-CPU counts of the TLB-shootdown ("TLB") and function-call ("CAL") IPI lines of
// /proc/interrupts. Reading the file does not send IPIs: the kernel sums per-CPU counters.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::host {

struct irq_counts {
  std::vector<std::uint64_t> tlb;  // "TLB shootdowns": flush IPIs this CPU received
  // "Function call interrupts": every call-function IPI, flush IPIs included (a flush IPI
  // counts in both lines), so cal - tlb are the other cross-calls (e.g. the GUP-fast sync).
  std::vector<std::uint64_t> cal;
};

// Reads /proc/interrupts without allocating after construction, so a measurement window
// around it sees no allocator activity (munmap/madvise would show up as TLB flushes).
class interrupt_reader {
 public:
  interrupt_reader();
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  // Fills `out` (sized by the first call); false if the read failed.
  bool read(irq_counts& out);

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string why_;
  std::vector<char> buf_;
};

// Parses the text of /proc/interrupts into `out` (vectors resized to the CPU count).
bool parse_interrupts(std::string_view text, irq_counts& out, std::string& why);

}  // namespace sd::host
