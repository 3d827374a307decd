// Small programs ("litmus tests" of the flush protocol): each CPU runs a short list of
// kernel operations on named processes, with labels one CPU signals and another waits for.
// `check` explores every interleaving of them; `simulate --program` runs one timed.
//
// Format (docs/check.md): a TOML file with
//   description = "what the program exercises, with the kernel step it names"
//   processes   = ["p", "q"]          # each gets an mm; fork targets too
//   files       = ["f"]               # hugetlbfs files (optional)
//   [cpu.0]
//   nohz_full = false                 # optional: context tracking follows user mode
//   ops = ["enter p", "mmap 0 2MiB", "touch 0 4 write", "signal populated", ...]
//   [extra]                           # optional: what CPUs past the [cpu.N] ones run
//   ops = ["enter p", "wait populated", "user"]
// Offsets are relative to the program's base address (1 TiB); sizes take units (4KiB, 2MiB).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mm/pgtable.h"

namespace sd::program {

enum class op_kind : std::uint8_t {
  enter,             // enter P: a thread of P runs here (context switch to P's mm)
  switch_to,         // switch P: P's thread that this CPU switched away from runs again
  exit,              // exit: the thread exits; the last thread of its process runs exit_mmap
  idle,              // idle: switch to idle; the mm stays loaded lazily (lazy TLB)
  user,              // user [TIME]: run user code (IRQs on) for TIME (default 1us), one step
  kthread_use_mm,    // kthread_use_mm P: a kthread adopts P's mm (non-lazy switch)
  kthread_unuse_mm,  // kthread_unuse_mm: and drops it again (the mm stays loaded lazily)
  mmap,              // mmap OFF LEN: anonymous private memory
  mmap_hugetlb,      // mmap_hugetlb F OFF LEN [PGOFF]: MAP_SHARED of hugetlbfs file F
  munmap,            // munmap OFF LEN (whole VMAs)
  touch,             // touch OFF [PAGES] [read|write]: user loads or stores, one per page
  mprotect,          // mprotect OFF LEN none|rw
  madvise_dontneed,  // madvise_dontneed OFF LEN
  fork,              // fork CHILD: CHILD's mm becomes a copy of the current process's
  gup_fast,          // gup_fast OFF [PAGES] [read|write]: GUP-fast, then unpin
  collapse,          // collapse P OFF: khugepaged collapse_huge_page of P's 2 MiB at OFF
  uffd_move,         // uffd_move DST SRC LEN: ioctl(UFFDIO_MOVE)
  signal,            // signal LABEL
  wait,              // wait LABEL: until some CPU signalled LABEL
};

struct op {
  op_kind kind;
  std::string text;         // as written
  std::string origin;       // "file:line: [cpu.N] ops[i]"
  int process = -1;         // enter, kthread_use_mm, fork (the child), collapse
  int file = -1;            // mmap_hugetlb
  int label = -1;           // signal, wait
  mm::va_t a = 0;           // start / dst (absolute address)
  mm::va_t b = 0;           // length / src
  mm::va_t c = 0;           // uffd_move length, hugetlb file offset
  unsigned pages = 1;       // touch, gup_fast
  std::int64_t ns = 1'000;  // user: how long (timed runs; check makes it one step)
  bool write = true;        // touch, gup_fast
  bool prot_none = false;
};

struct cpu_program {
  std::vector<op> ops;
  bool nohz_full = false;
  // perf samples this CPU with PERF_SAMPLE_DATA_PAGE_SIZE: check may take an NMI whenever it
  // runs user code, whose handler walks a program address (kernel/paths.h perf_nmi).
  bool perf_nmi = false;
};

struct program {
  std::string name;    // built-in name or file path
  std::string source;  // "built-in" or the path
  std::string description;
  std::vector<std::string> processes;
  std::vector<std::string> files;
  std::vector<std::string> labels;
  std::vector<cpu_program> cpus;  // CPU i runs cpus[i]
  cpu_program extra;              // what each CPU past those runs (--cpus); empty: idle
  // Page addresses the program touches or walks: where check offers speculative walks.
  std::vector<mm::va_t> addresses;
  unsigned min_cpus() const { return static_cast<unsigned>(cpus.size()); }
};

// Where programs place their memory: 1 TiB, aligned to every level below the PGD.
inline constexpr mm::va_t k_program_base = mm::va_t{1} << 40;

// Parses a program file's text; throws workload::input_error naming file:line: key.
program parse_program(const std::string& text, const std::string& path);
// A shipped program by name (programs/, compiled in), or a file path.
program load_program(const std::string& name_or_file);

struct shipped_program {
  std::string_view name;
  std::string_view text;
};
std::span<const shipped_program> shipped_programs();

}  // namespace sd::program
