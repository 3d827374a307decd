// Per-CPU counts of the TLB-shootdown ("TLB") and function-call ("CAL") IPI lines of
// /proc/interrupts. Reading the file does not send IPIs: the kernel sums per-CPU counters.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::host {

struct irq_counts {
  std::vector<std::uint64_t> tlb;  // "TLB shootdowns": flush IPIs this CPU received
  // "Function call interrupts": every call-function IPI, flush IPIs included (a flush IPI
  // counts in both lines), so cal - tlb are the other cross-calls (e.g. the GUP-fast sync).
  std::vector<std::uint64_t> cal;
};

// Nullopt (with `why`) when the file or the x86 TLB line is missing.
std::optional<irq_counts> read_interrupts(std::string& why);
// Parses the text of /proc/interrupts (exposed for tests).
std::optional<irq_counts> parse_interrupts(const std::string& text, std::string& why);

}  // namespace sd::host
