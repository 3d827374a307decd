#include "predict/twins.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "host/host_params.h"
#include "program/program.h"

namespace sd::predict {

namespace {

constexpr unsigned k_base = 2;    // rounds both programs run (warm-up)
constexpr unsigned k_rounds = 4;  // rounds only `with` runs

// hugetlb-fork-exit: what its twins leave out.
constexpr const char* k_own_writes =
    "the host's parent and children also write their own pages between fork and exit (stack, "
    "the measuring code, the kernel's rseq update), each a copy-on-write copy with a flush "
    "(do_wp_page, ptep_clear_flush): local_mm_shootdown and remote_send_ipi read more on the "
    "host; the twin's processes write only the hugetlb pages";

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
std::string lazy_ops(unsigned cpu) {
  return fmt::format("\"enter p\", \"idle\", \"signal lazy{}\"", cpu);
}
lazy_others lazy_cpus(unsigned cpus, bool lazy) {
  lazy_others l;
  if (!lazy) return l;
  for (unsigned c = 1; c < cpus; ++c) {
    l.waits += fmt::format(", \"wait lazy{}\"", c);
    l.sections += cpu_section(c, lazy_ops(c));
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
  return {build(k_base + k_rounds), build(k_base), k_rounds, differs, /*with_bound=*/""};
}

std::string kib(std::int64_t bytes) {
  return fmt::format("{}KiB", bytes / 1024);
}

// Writes of n contiguous pages from byte offset `off`: one op per 512 pages (a program's
// touch takes at most 512).
std::string write_pages(std::int64_t off, std::int64_t n) {
  std::string s;
  for (std::int64_t done = 0; done < n; done += 512)
    s += fmt::format("{}\"touch {} {} write\"", s.empty() ? "" : ", ", kib(off + done * 4096),
                     std::min<std::int64_t>(512, n - done));
  return s;
}

// Writes of n pages `stride` bytes apart from offset `off`.
std::string touches(std::int64_t n, std::int64_t stride, std::int64_t off = 0) {
  if (stride == 4096) return write_pages(off, n);
  std::string s;
  for (std::int64_t i = 0; i < n; ++i)
    s += fmt::format("{}\"touch {} 1 write\"", s.empty() ? "" : ", ", kib(off + i * stride));
  return s;
}

// fork-cow-reuse (host phases.cpp cow_rounds): the parent, pinned to CPU 0, forks; the
// child inherits the pinning. `reuse`: the child exits before the parent writes its `pages`
// pages; `copy`: it lives until the parent is done. The window covers the writes only, so
// `without` is the same rounds without them.
twin cow_twin(bool child_lives, unsigned cpus, std::int64_t pages) {
  const lazy_others others = lazy_cpus(cpus, true);
  const std::string write_all = write_pages(0, pages);
  auto build = [&](bool writes) {
    std::vector<std::string> procs{"p"};
    std::string ops =
        "\"enter p\"" + others.waits + ", \"mmap 0 " + kib(pages * 4096) + "\", " + write_all;
    for (unsigned i = 0; i < k_rounds; ++i) {
      const std::string child = fmt::format("c{}", i);
      procs.push_back(child);
      const std::string write = writes ? ", " + write_all : "";
      const std::string child_runs = fmt::format(", \"enter {}\", \"exit\", \"enter p\"", child);
      ops += fmt::format(", \"fork {}\"", child);
      ops += child_lives ? write + child_runs : child_runs + write;
    }
    return header(procs) + cpu_section(0, ops) + others.sections;
  };
  // `copy`: inside the window the host's parent also writes a few pages of its own (stack,
  // the measuring code) that the living child still shares: each is copied and flushed
  // (do_wp_page), measured here as about 6 more local flushes per fork (1.095 per page with
  // 64 pages); predict compares them with the write-protect faults the host counted.
  return {build(true), build(false), static_cast<unsigned>(k_rounds * pages),
          child_lives ? "the host's parent also writes a few pages of its own in the window "
                        "(stack, the measuring code) while the child shares them: each is a "
                        "copy-on-write copy with a local flush, a few per fork (host counts "
                        "the process's write-protect faults)"
                      : "",
          /*with_bound=*/""};
}

// uffd-move (uffd_move_rounds): fresh source and destination areas each round, laid out as
// the host's past their alignment slack (host::uffd_area_layout); the window covers the move.
twin uffd_twin(std::int64_t pages, bool crossing, unsigned cpus) {
  const lazy_others others = lazy_cpus(cpus, true);
  const host::uffd_layout l = host::uffd_area_layout(pages, crossing);
  const std::int64_t len = l.len, start = l.head - l.before, area = l.used;
  auto build = [&](bool move) {
    std::string ops = "\"enter p\"" + others.waits;
    for (unsigned i = 0; i < k_rounds; ++i) {
      // Per round: the source area, then the destination area right above it.
      const std::int64_t src_area = 2 * area * i, dst_area = src_area + area;
      const std::string src = kib(src_area + start);
      const std::string dst = kib(dst_area + start);
      ops += fmt::format(", \"mmap {0} {2}\", \"mmap {1} {2}\", {3}", kib(src_area), kib(dst_area),
                         kib(area), write_pages(src_area + start, pages));
      if (move) ops += fmt::format(", \"uffd_move {} {} {}\"", dst, src, kib(len));
      ops += fmt::format(", \"munmap {0} {2}\", \"munmap {1} {2}\"", kib(src_area), kib(dst_area),
                         kib(area));
    }
    return header({"p"}) + cpu_section(0, ops) + others.sections;
  };
  return {build(true), build(false), k_rounds,
          "the source and destination are unmapped at the end of each round in both programs",
          /*with_bound=*/""};
}

// hugetlb-fork-exit (hugetlb_rounds): a MAP_SHARED hugetlb file over `windows` 1 GiB windows
// at a 1 GiB-aligned address; the parent writes `touch` huge pages per window evenly spread
// (8: 128 MiB apart), and each child (pinned to CPU 0 like the parent) writes the same pages
// and exits. The text before the rounds, with the ops each child writes.
struct hugetlb_setup {
  std::string prologue;  // CPU 0's ops before the first round
  std::string writes;    // ", "-led writes of a child's pages
  lazy_others others;
};
hugetlb_setup hugetlb_prologue(unsigned cpus, std::int64_t touch, std::int64_t windows) {
  hugetlb_setup h;
  h.others = lazy_cpus(cpus, true);
  const std::int64_t stride_mib = host::hugetlb_touch_stride(touch) >> 20;
  for (std::int64_t w = 0; w < windows; ++w)
    for (std::int64_t i = 0; i < touch; ++i)
      h.writes += fmt::format(", \"touch {}MiB 1 write\"", 1024 * w + stride_mib * i);
  h.prologue = "\"enter p\"" + h.others.waits +
               fmt::format(", \"mmap_hugetlb f 0 {}GiB\"", windows) + h.writes;
  return h;
}

std::string hugetlb_text(const std::vector<std::string>& procs, const std::string& ops,
                         const lazy_others& others) {
  std::string text = header(procs);
  text.insert(text.find("processes"), "files = [\"f\"]\n");
  return text + cpu_section(0, ops) + others.sections;
}

// One serial child: forked, runs, exits, the parent runs again.
std::string serial_child(unsigned i, const std::string& writes) {
  return fmt::format(", \"fork c{0}\", \"enter c{0}\"{1}, \"exit\", \"enter p\"", i, writes);
}

// `serial`: each child forks, writes and exits before the next; the window covers fork,
// writes and exit. `concurrent` (children > 1): the parent forks them all and waits until
// each has written its pages (each shares the tables), then lets them exit one after the
// other; the window covers a round, `children` ops. Their threads are switched away from and
// back to on CPU 0.
twin hugetlb_twin(unsigned cpus, std::int64_t touch, std::int64_t windows, std::int64_t children) {
  const hugetlb_setup h = hugetlb_prologue(cpus, touch, windows);
  auto build = [&](unsigned rounds) {
    std::vector<std::string> procs{"p"};
    std::string ops = h.prologue;
    for (unsigned r = 0; r < rounds; ++r) {
      const auto first = static_cast<unsigned>(r * children);
      const auto last = static_cast<unsigned>(first + children);
      for (unsigned i = first; i < last; ++i) procs.push_back(fmt::format("c{}", i));
      if (children == 1) {
        ops += serial_child(first, h.writes);
        continue;
      }
      for (unsigned i = first; i < last; ++i) ops += fmt::format(", \"fork c{}\"", i);
      for (unsigned i = first; i < last; ++i) ops += fmt::format(", \"enter c{}\"{}", i, h.writes);
      ops += ", \"switch p\"";
      for (unsigned i = first; i < last; ++i) ops += fmt::format(", \"switch c{}\", \"exit\"", i);
      ops += ", \"switch p\"";
    }
    return hugetlb_text(procs, ops, h.others);
  };
  // Both run k_base children first: fork's flush_tlb_mm (freed_tables) IPIs the lazy CPU,
  // which switches to init_mm, and the next one clears its stale mm_cpumask bit
  // (flush_tlb_func, TLB_REMOTE_WRONG_CPU); the host's count is that steady state.
  // The host's parent and child also write pages of their own between fork and exit, each
  // still shared copy-on-write: do_wp_page copies it and flushes (ptep_clear_flush). `perf
  // record -e tlb:tlb_flush -g` on the phase (16 serial and 16 concurrent children): per
  // fork one flush from dup_mmap, one from the child's rseq update on its return from fork
  // (__rseq_handle_notify_resume), the rest from the parent's measuring code (its stack,
  // reading the counters); the C library's fork handlers, once most of them, no longer run
  // (host/bare_fork.h).
  return {build(k_base + k_rounds), build(k_base), static_cast<unsigned>(k_rounds * children),
          k_own_writes, /*with_bound=*/""};
}

// `burst`: the parent, on CPU 0, forks the round's children back to back and places child i
// on CPU i mod CPUs; nothing holds them, so each writes its pages and exits when the host
// scheduler runs it, and which exit leaves the parent the only sharer of the PMD tables (a
// sync on kernels with 8ce720d) depends on that interleaving: from one per round (all alive
// at once) to one per child (each gone before the next touches). The twin replays the
// interleaving the host recorded (host::child_event): each event on the CPU it ran on, in
// the recorded order (a CPU signals where the next event is another's, which waits for it):
// the parent forks a child where it forked it, the child enters and writes its pages where
// it began touching, and exits where it was about to. The order is as exact as the clock
// readings around the events: a child's exit_mmap unshares its tables some microseconds
// after it read the clock, before its CPU's next recorded event. So the twin's `with` replays
// each exit where its reading is (the earliest its unshare can be) and `with_bound` where its
// CPU's next event is (the latest): a sync is sent where the union of the children's sharing
// intervals ends (the exit that leaves the parent alone), so later exits can only merge
// intervals, and the two bound the host's count. Both programs run k_base serial children
// first, on CPU 0.
std::optional<twin> burst_twin(unsigned cpus, std::int64_t touch, std::int64_t windows,
                               const std::vector<std::vector<host::child_event>>& order,
                               bool late_exits, std::string& why) {
  const hugetlb_setup h = hugetlb_prologue(cpus, touch, windows);
  std::vector<std::string> procs{"p"};
  std::string base = h.prologue;
  for (unsigned i = 0; i < k_base; ++i) {
    procs.push_back(fmt::format("c{}", i));
    base += serial_child(i, h.writes);
  }
  const std::vector<std::string> base_procs = procs;
  std::vector<std::string> ops(cpus), current(cpus);
  ops[0] = base;
  current[0] = "p";
  unsigned last_cpu = 0, label = 0;
  // Ops on `cpu` after the previous ones on their CPU.
  auto emit_now = [&](unsigned cpu, const std::string& text) {
    if (cpu != last_cpu) {
      ops[last_cpu] += fmt::format(", \"signal burst{}\"", label);
      ops[cpu] += fmt::format(", \"wait burst{}\"", label);
      ++label;
    }
    ops[cpu] += text;
    last_cpu = cpu;
  };
  std::vector<std::string> pending(cpus);  // late_exits: an exit not replayed yet, per CPU
  // An event's ops on `cpu`: first the exit held back there, if any.
  auto emit = [&](unsigned cpu, const std::string& text) {
    if (!pending[cpu].empty()) {
      const std::string exit = std::move(pending[cpu]);
      pending[cpu].clear();
      emit_now(cpu, exit);
    }
    if (!text.empty()) emit_now(cpu, text);
  };
  unsigned first = k_base, children = 0;
  for (const auto& round : order) {
    unsigned n = 0;
    for (const auto& e : round) n = std::max(n, e.child + 1);
    std::vector<char> seen(n, 0);  // the last event of each child: 0, 'f', 's', 'x'
    std::vector<unsigned> where(n, 0);
    for (const auto& e : round) {
      const std::string c = fmt::format("c{}", first + e.child);
      const char want = e.what == 'f' ? 0 : e.what == 's' ? 'f' : 's';
      if (seen[e.child] != want) {
        why = fmt::format(
            "the recorded order of a burst round is not fork, touch, exit per child (child {} "
            "event '{}')",
            e.child, e.what);
        return std::nullopt;
      }
      seen[e.child] = e.what;
      const unsigned cpu = e.what == 'f' ? 0 : e.cpu;
      if (cpu >= cpus) {
        why = fmt::format("a burst child ran on CPU {} of {}", cpu, cpus);
        return std::nullopt;
      }
      if (e.what == 'x' && cpu != where[e.child]) {
        why = fmt::format(
            "a burst child moved from CPU {} to CPU {} between its first touch and its exit; "
            "the twin runs each on one CPU",
            where[e.child], cpu);
        return std::nullopt;
      }
      where[e.child] = cpu;
      std::string text;
      if (e.what == 'f') {
        if (current[0] != "p") text += ", \"switch p\"";
        text += ", \"fork " + c + "\"";
        procs.push_back(c);
        current[0] = "p";
      } else if (e.what == 's') {
        text += ", \"enter " + c + "\"" + h.writes;
        current[cpu] = c;
      } else {
        if (current[cpu] != c) text += ", \"switch " + c + "\"";
        text += ", \"exit\"";
        current[cpu].clear();
      }
      if (e.what == 'x' && late_exits) {
        emit(cpu, "");        // one held back there before is done by now
        pending[cpu] = text;  // replayed before this CPU's next event
      } else {
        emit(cpu, text);
      }
    }
    if (std::count(seen.begin(), seen.end(), 'x') != static_cast<std::ptrdiff_t>(n)) {
      why = "the recorded order of a burst round misses a child's exit";
      return std::nullopt;
    }
    // The parent reaps them all on CPU 0 before the next round: every exit is done.
    for (unsigned cpu = 1; cpu < cpus; ++cpu)
      if (!pending[cpu].empty()) emit(cpu, "");
    emit(0, current[0] != "p" ? ", \"switch p\"" : "");
    current[0] = "p";
    first += n;
    children += n;
  }
  if (!children) {
    why = "the burst twin replays the order the host recorded, and none was";
    return std::nullopt;
  }
  std::string with = hugetlb_text(procs, ops[0], {});
  for (unsigned c = 1; c < cpus; ++c) with += cpu_section(c, lazy_ops(c) + ops[c]);
  return twin{with, hugetlb_text(base_procs, base, h.others), children,
              "replays the host's recorded interleaving of forks, first touches and exits, each "
              "exit's unshare as early and as late as the clock readings allow (the model's "
              "range); the record does not say whether the parent ran between two children on "
              "CPU 0, and a switch from it to a child traces a task-switch flush the process's "
              "counters see, so task_switch can differ by such runs; " +
                  std::string(k_own_writes),
              /*with_bound=*/""};
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
  if (m.vcpu_preempt_interval)
    spec.params.push_back({"vcpu_preempt_interval", fmt::format("{}ns", *m.vcpu_preempt_interval),
                           "host --predict (this guest's steal time)"});
  return workload::simulate(workload::resolve(spec));
}

std::optional<twin> twin_of(const std::string& scenario, const std::string& phase, unsigned cpus,
                            const workload::param_values& sizes, std::string& why,
                            const host::phase_sample* sample) {
  const auto size = [&](std::string_view key) { return host::host_param(scenario, sizes, key); };
  const bool siblings = phase == "with-siblings" || phase == "all-cpus";
  if (siblings && cpus < 2) {
    why = "needs 2 CPUs";
    return std::nullopt;
  }
  // host phases.cpp munmap_round: map `region` at a 1 GiB-aligned hole, write `touch_pages`
  // pages spread over it (by default 4 MiB, one every 64 KiB: two PTE tables), munmap.
  if (scenario == "munmap-free-tables") {
    const std::int64_t region = size("region");
    const std::int64_t pages = size("touch_pages");
    const std::int64_t stride = host::munmap_touch_stride(region, pages);
    if (phase == "unmap" || phase == "unmap-empty") {
      // unmap_rounds: map (and write) outside the window, munmap inside. The host maps each
      // round at the same hole after the last munmap; the twin's `without` maps the rounds it
      // does not unmap, so each round has its own 1 GiB window (region is at most 1 GiB):
      // the same tables are built and freed.
      const bool write = phase == "unmap";
      const auto at = [](unsigned i) { return std::int64_t{i + 1} << 30; };
      return rounds_twin(
          "", [&](unsigned i) { return "\"munmap " + kib(at(i)) + " " + kib(region) + "\""; },
          false, cpus, true, "",
          [&](unsigned i) {
            return "\"mmap " + kib(at(i)) + " " + kib(region) + "\"" +
                   (write ? ", " + touches(pages, stride, at(i)) : std::string());
          });
    }
    const std::string ops = "\"mmap 0 " + kib(region) + "\", " + touches(pages, stride) +
                            ", \"munmap 0 " + kib(region) + "\"";
    return rounds_twin(
        "", [&ops](unsigned) { return ops; }, siblings, cpus, !siblings);
  }
  // mprotect_round: `pages` touched pages in a VMA of their own; PROT_NONE, then read-write.
  if (scenario == "mprotect-none-rw") {
    const std::string len = kib(size("pages") * 4096);
    return rounds_twin(
        fmt::format("\"mmap 0 {}\", {}", len, write_pages(0, size("pages"))),
        [&len](unsigned) {
          return fmt::format("\"mprotect 0 {0} none\", \"mprotect 0 {0} rw\"", len);
        },
        siblings, cpus, !siblings);
  }
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
  // again). madvise_collapse reaches the same collapse_huge_page as khugepaged (mm/khugepaged.c),
  // here on the caller's CPU, which runs the mm: the twin's CPU 0 entered p first.
  if (scenario == "khugepaged-collapse")
    return rounds_twin(
        "", [](unsigned i) { return fmt::format("\"collapse p {}MiB\"", 2 * i); }, siblings, cpus,
        !siblings,
        "the model runs collapse_huge_page on CPU 0 with the process's mm loaded, as MADV_COLLAPSE "
        "does, without madvise_collapse's system call and scan around it (time per op, not the "
        "counts)",
        [](unsigned i) {
          return fmt::format("\"mmap {0}MiB 2MiB\", \"touch {0}MiB 512 write\"", 2 * i);
        });
  if (scenario == "fork-cow-reuse") return cow_twin(phase == "copy", cpus, size("pages"));
  if (scenario == "uffd-move") return uffd_twin(size("pages"), phase == "crossing", cpus);
  if (replays_host_order(scenario, phase)) {
    if (!sample) {
      why = "the burst twin replays the order the host recorded in a repeat, and none was given";
      return std::nullopt;
    }
    auto early = burst_twin(cpus, size("touch"), size("windows"), sample->child_order, false, why);
    const auto late =
        burst_twin(cpus, size("touch"), size("windows"), sample->child_order, true, why);
    if (!early || !late) return std::nullopt;
    early->with_bound = late->with;
    return early;
  }
  if (scenario == "hugetlb-fork-exit")
    return hugetlb_twin(cpus, size("touch"), size("windows"),
                        phase == "serial" ? 1 : size("children"));
  why = "no model twin yet for " + scenario + " " + phase + " (issue 9 item 10)";
  return std::nullopt;
}

bool replays_host_order(const std::string& scenario, const std::string& phase) {
  return scenario == "hugetlb-fork-exit" && phase == "burst";
}

}  // namespace sd::predict
