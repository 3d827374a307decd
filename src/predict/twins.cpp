#include "predict/twins.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "program/program.h"

namespace sd::predict {

namespace {

constexpr unsigned k_base = 2;    // rounds both programs run (warm-up)
constexpr unsigned k_rounds = 4;  // rounds only `with` runs

std::string header(const std::vector<std::string>& processes) {
  std::string list;
  for (const auto& p : processes) list += (list.empty() ? "\"" : ", \"") + p + "\"";
  return fmt::format("description = \"host twin\"\nprocesses = [{}]\n", list);
}

std::string cpu_section(unsigned cpu, const std::string& ops) {
  return fmt::format("\n[cpu.{}]\nops = [{}]\n", cpu, ops);
}

// Siblings: CPUs 1..cpus-1 enter p and spin in user mode for longer than CPU 0 runs; CPU 0
// waits 50 us first so that they are in user mode before its first round.
constexpr const char* k_siblings = "\n[extra]\nops = [\"enter p\", \"user 1s\"]\n";

// host_run.cpp visit_every_cpu: before its phases the host runs a thread of its process on
// every other CPU, which then idles holding the mm lazily (on x86 its mm_cpumask bit stays
// set, so CPU 0's flushes call flush_tlb_multi, which traces remote_send_ipi, and skip the
// lazy CPUs unless tables are freed). The twin's other CPUs do the same before CPU 0 starts:
// `waits` goes after CPU 0's first "enter p", `sections` after its section. None when
// `lazy` is false (the phase runs threads on the other CPUs itself).
struct lazy_others {
  std::string waits;
  std::string sections;
};
lazy_others lazy_cpus(unsigned cpus, bool lazy) {
  lazy_others l;
  if (!lazy) return l;
  for (unsigned c = 1; c < cpus; ++c) {
    l.waits += fmt::format(", \"wait lazy{}\"", c);
    l.sections += cpu_section(c, fmt::format("\"enter p\", \"idle\", \"signal lazy{}\"", c));
  }
  return l;
}

// A phase measured by host's measure() or measure_rounds(). `round(i)` gives the ops of
// round i inside the window, `prepare(i)` (if any) those before it, outside the window;
// `with` runs k_base + k_rounds rounds, `without` k_base and then only the preparation of
// the other k_rounds, so the two differ by what the host times.
using round_ops = std::function<std::string(unsigned)>;
twin rounds_twin(const std::string& setup, const round_ops& round, bool siblings, unsigned cpus,
                 bool lazy, const std::string& differs = "", const round_ops& prepare = {}) {
  const lazy_others others = lazy_cpus(cpus, lazy);
  auto build = [&](unsigned measured) {
    std::string ops = "\"enter p\"" + others.waits;
    if (siblings) ops += ", \"user 50us\"";
    if (!setup.empty()) ops += ", " + setup;
    const unsigned rounds = prepare ? k_base + k_rounds : measured;  // prepared: all of them
    for (unsigned i = 0; i < rounds; ++i) {
      if (prepare) ops += ", " + prepare(i);
      if (i < measured) ops += ", " + round(i);
    }
    return header({"p"}) + cpu_section(0, ops) + others.sections + (siblings ? k_siblings : "");
  };
  return {build(k_base + k_rounds), build(k_base), k_rounds, differs};
}

std::string touches(unsigned n, unsigned stride_kib) {
  std::string s;
  for (unsigned i = 0; i < n; ++i)
    s += fmt::format("{}\"touch {}KiB 1 write\"", s.empty() ? "" : ", ", i * stride_kib);
  return s;
}

// fork-cow-reuse (host_run.cpp cow_rounds): the parent, pinned to CPU 0, forks; the child
// inherits the pinning. `reuse`: the child exits before the parent writes its 64 pages;
// `copy`: it lives until the parent is done. The window covers the 64 writes only, so
// `without` is the same rounds without them.
twin cow_twin(bool child_lives, unsigned cpus) {
  const lazy_others others = lazy_cpus(cpus, true);
  auto build = [&](bool writes) {
    std::vector<std::string> procs{"p"};
    std::string ops = "\"enter p\"" + others.waits + ", \"mmap 0 256KiB\", \"touch 0 64 write\"";
    for (unsigned i = 0; i < k_rounds; ++i) {
      const std::string child = fmt::format("c{}", i);
      procs.push_back(child);
      const std::string write = writes ? ", \"touch 0 64 write\"" : "";
      const std::string child_runs = fmt::format(", \"enter {}\", \"exit\", \"enter p\"", child);
      ops += fmt::format(", \"fork {}\"", child);
      ops += child_lives ? write + child_runs : child_runs + write;
    }
    return header(procs) + cpu_section(0, ops) + others.sections;
  };
  return {build(true), build(false), k_rounds * 64, ""};
}

// uffd-move (uffd_move_rounds): fresh source and destination areas each round, 512 present
// source pages starting `offset_pages` before a 2 MiB boundary; the window covers the move.
twin uffd_twin(unsigned offset_pages, unsigned cpus) {
  const lazy_others others = lazy_cpus(cpus, true);
  auto build = [&](bool move) {
    std::string ops = "\"enter p\"" + others.waits;
    for (unsigned i = 0; i < k_rounds; ++i) {
      // 6 MiB per area and round: source at 0 + 12 MiB * i, destination 6 MiB above it.
      const unsigned src_mib = 12 * i, dst_mib = src_mib + 6;
      const std::string src = fmt::format("{}KiB", (src_mib + 2) * 1024 - offset_pages * 4);
      const std::string dst = fmt::format("{}KiB", (dst_mib + 2) * 1024 - offset_pages * 4);
      ops += fmt::format(", \"mmap {}MiB 6MiB\", \"mmap {}MiB 6MiB\", \"touch {} 512 write\"",
                         src_mib, dst_mib, src);
      if (move) ops += fmt::format(", \"uffd_move {} {} 2MiB\"", dst, src);
      ops += fmt::format(", \"munmap {}MiB 6MiB\", \"munmap {}MiB 6MiB\"", src_mib, dst_mib);
    }
    return header({"p"}) + cpu_section(0, ops) + others.sections;
  };
  return {build(true), build(false), k_rounds,
          "the source and destination are unmapped at the end of each round in both programs"};
}

// hugetlb-fork-exit (hugetlb_rounds), `serial`: a 1 GiB MAP_SHARED hugetlb file at a 1 GiB-
// aligned address; the parent writes 8 huge pages 128 MiB apart; each child (pinned to
// CPU 0 like the parent) writes the same 8 pages and exits. The window covers fork, writes
// and exit.
twin hugetlb_serial_twin(unsigned cpus) {
  const lazy_others others = lazy_cpus(cpus, true);
  std::string writes;
  for (unsigned i = 0; i < 8; ++i) writes += fmt::format(", \"touch {}MiB 1 write\"", 128 * i);
  auto build = [&](unsigned n) {
    std::vector<std::string> procs{"p"};
    std::string ops = "\"enter p\"" + others.waits + ", \"mmap_hugetlb f 0 1GiB\"" + writes;
    for (unsigned i = 0; i < n; ++i) {
      procs.push_back(fmt::format("c{}", i));
      ops += fmt::format(", \"fork c{0}\", \"enter c{0}\"{1}, \"exit\", \"enter p\"", i, writes);
    }
    std::string text = header(procs);
    text.insert(text.find("processes"), "files = [\"f\"]\n");
    return text + cpu_section(0, ops) + others.sections;
  };
  // Both run k_base children first: fork's flush_tlb_mm (freed_tables) IPIs the lazy CPU,
  // which switches to init_mm, and the next one clears its stale mm_cpumask bit
  // (flush_tlb_func, TLB_REMOTE_WRONG_CPU); the host's count is that steady state.
  return {build(k_base + k_rounds), build(k_base), k_rounds, ""};
}

}  // namespace

workload::run_result run_twin(const std::string& text, const machine_guess& m,
                              const std::vector<workload::setting>& costs) {
  workload::scenario_spec spec;
  spec.parsed_program =
      std::make_shared<const program::program>(program::parse_program(text, "host twin"));
  spec.arch = m.arch;
  spec.cpus = std::max(m.cpus, spec.parsed_program->min_cpus());
  spec.patches = workload::setting{"patches", m.patches, "host --predict"};
  spec.costs = costs;
  return workload::simulate(workload::resolve(spec));
}

std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            std::string& why) {
  const bool siblings = phase == "with-siblings" || phase == "all-cpus";
  if (siblings && cpus < 2) {
    why = "needs 2 CPUs";
    return std::nullopt;
  }
  // host_run.cpp munmap_round: map 4 MiB at a 1 GiB-aligned hole, write one byte every
  // 64 KiB (64 pages, two PTE tables), munmap.
  if (scenario == "munmap-free-tables")
    return rounds_twin(
        "", [](unsigned) { return "\"mmap 0 4MiB\", " + touches(64, 64) + ", \"munmap 0 4MiB\""; },
        siblings, cpus, !siblings);
  // mprotect_round: 16 touched pages in a VMA of their own; PROT_NONE, then read-write.
  if (scenario == "mprotect-none-rw")
    return rounds_twin(
        "\"mmap 0 64KiB\", \"touch 0 16 write\"",
        [](unsigned) { return std::string("\"mprotect 0 64KiB none\", \"mprotect 0 64KiB rw\""); },
        siblings, cpus, !siblings);
  // dontneed_threads: write a page, MADV_DONTNEED it; all-cpus: every other CPU does the
  // same on a page of its own for as long as CPU 0 runs.
  if (scenario == "tlb-flush-threads") {
    twin t = rounds_twin(
        "\"mmap 0 4KiB\"",
        [](unsigned) { return std::string("\"touch 0 1 write\", \"madvise_dontneed 0 4KiB\""); },
        false, cpus, !siblings);
    if (siblings) {
      auto others = [&](unsigned rounds) {
        std::string text;
        for (unsigned c = 1; c < cpus; ++c) {
          const std::string off = fmt::format("{}MiB", 2 * c);
          std::string ops = fmt::format("\"enter p\", \"mmap {} 4KiB\"", off);
          for (unsigned i = 0; i < rounds; ++i)
            ops += fmt::format(", \"touch {} 1 write\", \"madvise_dontneed {} 4KiB\"", off, off);
          text += cpu_section(c, ops);
        }
        return text;
      };
      t.with += others(k_base + k_rounds);
      t.without += others(k_base);
      t.differs = "the other CPUs run as many rounds as CPU 0, not until it stops";
    }
    return t;
  }
  // collapse_rounds: 512 touched small pages in an aligned 2 MiB range (outside the window),
  // then MADV_COLLAPSE; one fresh range per round (a collapsed range cannot be collapsed
  // again).
  if (scenario == "khugepaged-collapse")
    return rounds_twin(
        "", [](unsigned i) { return fmt::format("\"collapse p {}MiB\"", 2 * i); }, siblings, cpus,
        !siblings,
        "the model collapses as khugepaged does (collapse_huge_page from a kthread); the host "
        "calls MADV_COLLAPSE from the process on its own CPU",
        [](unsigned i) {
          return fmt::format("\"mmap {0}MiB 2MiB\", \"touch {0}MiB 512 write\"", 2 * i);
        });
  if (scenario == "fork-cow-reuse") return cow_twin(phase == "copy", cpus);
  if (scenario == "uffd-move") return uffd_twin(phase == "crossing" ? 256 : 512, cpus);
  if (scenario == "hugetlb-fork-exit" && phase == "serial") return hugetlb_serial_twin(cpus);
  if (scenario == "hugetlb-fork-exit") {
    // Eight children alive at once on one CPU: each runs, is switched away from, and runs
    // again to exit; a program's "enter" always starts another thread, so it cannot say this.
    why =
        "no model twin: programs cannot switch back to a process's existing thread, which "
        "8 children alive on the parent's CPU need";
    return std::nullopt;
  }
  why = "no model twin yet for " + scenario + " " + phase + " (issue 9 item 10)";
  return std::nullopt;
}

}  // namespace sd::predict
