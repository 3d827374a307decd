#include "predict/twins.h"

#include <fmt/format.h>

namespace sd::predict {

namespace {

// CPU 0's section: `setup` once, then `round` `rounds` times. Siblings (CPUs 1..cpus-1)
// enter the process and spin in user mode for longer than CPU 0 runs; CPU 0 waits 50 us
// first so that they are in user mode before its first round.
std::string program(unsigned cpus, const std::string& setup, const std::string& round,
                    unsigned rounds, bool siblings) {
  std::string ops = "\"enter p\"";
  if (siblings) ops += ", \"user 50us\"";
  if (!setup.empty()) ops += ", " + setup;
  for (unsigned i = 0; i < rounds; ++i) ops += ", " + round;
  std::string text =
      fmt::format("description = \"host twin\"\nprocesses = [\"p\"]\n\n[cpu.0]\nops = [{}]\n", ops);
  if (siblings && cpus > 1) text += "\n[extra]\nops = [\"enter p\", \"user 1s\"]\n";
  return text;
}

std::string quoted_ops(const std::string& fmt_one, unsigned n, unsigned stride_kib) {
  std::string s;
  for (unsigned i = 0; i < n; ++i)
    s += (s.empty() ? "" : ", ") +
         fmt::format("\"{}\"", fmt::format(fmt::runtime(fmt_one), i * stride_kib));
  return s;
}

}  // namespace

std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            unsigned rounds, std::string& why) {
  const bool siblings = phase == "with-siblings" || phase == "all-cpus";
  if (siblings && cpus < 2) {
    why = "needs 2 CPUs";
    return std::nullopt;
  }
  // host_run.cpp munmap_round: map 4 MiB at a 1 GiB-aligned hole, write one byte every
  // 64 KiB (64 pages, two PTE tables), munmap.
  if (scenario == "munmap-free-tables") {
    const std::string round =
        "\"mmap 0 4MiB\", " + quoted_ops("touch {}KiB 1 write", 64, 64) + ", \"munmap 0 4MiB\"";
    return twin{program(cpus, "", round, rounds, siblings), ""};
  }
  // mprotect_round: 16 touched pages in a VMA of their own; PROT_NONE, then read-write.
  if (scenario == "mprotect-none-rw") {
    return twin{program(cpus, "\"mmap 0 64KiB\", \"touch 0 16 write\"",
                        "\"mprotect 0 64KiB none\", \"mprotect 0 64KiB rw\"", rounds, siblings),
                ""};
  }
  // dontneed_threads: write a page, MADV_DONTNEED it; all-cpus: every other CPU does the
  // same on a page of its own for as long as CPU 0 runs.
  if (scenario == "tlb-flush-threads") {
    const std::string round = "\"touch 0 1 write\", \"madvise_dontneed 0 4KiB\"";
    std::string text = program(1, "\"mmap 0 4KiB\"", round, rounds, false);
    if (siblings) {
      for (unsigned c = 1; c < cpus; ++c) {
        const std::string off = fmt::format("{}MiB", 2 * c);
        std::string ops = fmt::format("\"enter p\", \"mmap {} 4KiB\"", off);
        for (unsigned i = 0; i < rounds + 2; ++i)
          ops += fmt::format(", \"touch {} 1 write\", \"madvise_dontneed {} 4KiB\"", off, off);
        text += fmt::format("\n[cpu.{}]\nops = [{}]\n", c, ops);
      }
    }
    return twin{text, siblings
                          ? "the other CPUs run as many rounds as CPU 0 (plus two), not until it "
                            "stops"
                          : ""};
  }
  // collapse_rounds: 512 touched small pages in an aligned 2 MiB range, then MADV_COLLAPSE.
  if (scenario == "khugepaged-collapse") {
    std::string setup, round;
    // One fresh range per round: a collapsed range cannot be collapsed again.
    std::string ops = "\"enter p\"";
    if (siblings) ops += ", \"user 50us\"";
    for (unsigned i = 0; i < rounds; ++i)
      ops += fmt::format(
          ", \"mmap {0}MiB 2MiB\", \"touch {0}MiB 512 write\", \"collapse p {0}MiB\"", 2 * i);
    std::string text = fmt::format(
        "description = \"host twin\"\nprocesses = [\"p\"]\n\n[cpu.0]\nops = [{}]\n", ops);
    if (siblings) text += "\n[extra]\nops = [\"enter p\", \"user 1s\"]\n";
    return twin{text,
                "the model collapses as khugepaged does (collapse_huge_page from a kthread); the "
                "host calls MADV_COLLAPSE from the process on its own CPU"};
  }
  why = "no model twin yet for " + scenario + " " + phase + " (issue 9 item 10)";
  return std::nullopt;
}

}  // namespace sd::predict
