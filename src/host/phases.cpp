#include "host/phases.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "host/bare_fork.h"
#include "host/host_params.h"
#include "host/hugetlb.h"
#include "host/uffd_move.h"

namespace sd::host {

namespace {

std::uint64_t collapse_calls = 0;
std::uint64_t collapse_failures = 0;
int collapse_errno = 0;  // errno of the last failed MADV_COLLAPSE
#ifdef MADV_COLLAPSE
constexpr int k_madv_collapse = MADV_COLLAPSE;
#else
constexpr int k_madv_collapse = 25;  // Linux 6.1
#endif

constexpr std::size_t k_page = 4096;
constexpr std::size_t k_gib = std::size_t{1} << 30;

// A free 1 GiB-aligned hole of `gib` GiB whose neighbours end and begin exactly at its
// bounds: a PROT_NONE reservation chosen by the kernel (so it avoids sanitizer shadow memory
// and libraries) with its aligned middle unmapped. A region mapped in the hole and unmapped
// again frees its PTE tables and its PMD table (free_pgtables' floor/ceiling rule), and a
// hugetlb mapping of the whole hole covers full PUD ranges (needed for PMD sharing).
cpu_set_t only_cpu(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return set;
}

std::uintptr_t reserve_gib_hole(std::size_t gib) {
  void* r = mmap(nullptr, (gib + 2) * k_gib, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (r == MAP_FAILED)
    throw std::runtime_error("cannot reserve " + std::to_string(gib + 2) + " GiB of address space");
  const auto aligned = (reinterpret_cast<std::uintptr_t>(r) + k_gib - 1) & ~(k_gib - 1);
  munmap(reinterpret_cast<void*>(aligned), gib * k_gib);
  return aligned;
}

void* map_at(std::uintptr_t addr, std::size_t len) {
  void* p = mmap(reinterpret_cast<void*>(addr), len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void touch(void* p, std::size_t len, std::size_t step) {
  auto* c = static_cast<volatile char*>(p);
  for (std::size_t off = 0; off < len; off += step) c[off] = 1;
}

// Threads of this process spinning in user mode on the other CPUs, each writing its own
// page, so the mm is loaded and non-lazy there: flushes of the mm must IPI them.
class siblings {
 public:
  explicit siblings(unsigned ncpus) {
    for (unsigned cpu = 1; cpu < ncpus; ++cpu)
      threads_.emplace_back([this, cpu] {
        pin_to(cpu);
        std::vector<char> mine(k_page);
        ready_.fetch_add(1);
        while (!stop_.load(std::memory_order_relaxed)) mine[0]++;
      });
    while (ready_.load() < threads_.size()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let them settle
  }
  ~siblings() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ready_{0};
  std::vector<std::thread> threads_;
};

// A phase body run while a sibling thread spins in user mode on every other CPU.
template <phase_sample (*Body)(const context&)>
phase_sample with_siblings(const context& c) {
  siblings s(c.ncpus);
  return Body(c);
}

// munmap-free-tables: map `region`, write `touch_pages` pages spread over it, unmap (by
// default 4 MiB and 64 pages: frees 2 PTE tables and the PMD table).
phase_sample munmap_round(const context& ctx) {
  const auto len = static_cast<std::size_t>(ctx.param("region"));
  const auto stride =
      static_cast<std::size_t>(munmap_touch_stride(ctx.param("region"), ctx.param("touch_pages")));
  const auto pages = static_cast<std::size_t>(ctx.param("touch_pages"));
  const std::uintptr_t hole = free_gib_hole();
  return measure(ctx, [hole, len, stride, pages](std::uint64_t) {
    void* p = map_at(hole, len);
    if (!p) throw std::runtime_error("mmap of the test region failed");
    touch(p, pages * stride, stride);
    munmap(p, len);
  });
}

// munmap-free-tables, the munmap alone: the region is mapped and its `touch_pages` pages
// written (`write`) or left empty outside the window, so the window holds only the munmap:
// with pages, their zap, the tables' free and the flush; without, the system call and the
// VMA's removal (host --calibrate subtracts one from the other: zap's per-page cost).
phase_sample unmap_rounds(const context& ctx, bool write) {
  const auto len = static_cast<std::size_t>(ctx.param("region"));
  const auto stride =
      static_cast<std::size_t>(munmap_touch_stride(ctx.param("region"), ctx.param("touch_pages")));
  const auto pages = static_cast<std::size_t>(ctx.param("touch_pages"));
  const std::uintptr_t hole = free_gib_hole();
  void* p = nullptr;
  return measure_rounds(
      ctx, 1,
      [&] {
        p = map_at(hole, len);
        if (!p) throw std::runtime_error("mmap of the test region failed");
        if (write) touch(p, pages * stride, stride);
      },
      [&] { munmap(p, len); }, [] {});
}

// tlb-flush-threads (will-it-scale tlb_flush2 style): write a page, MADV_DONTNEED it.
phase_sample dontneed_threads(const context& ctx, unsigned nthreads) {
  std::atomic<unsigned> go{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> peer_ops{0};  // the other threads' completed iterations
  std::vector<std::thread> others;
  for (unsigned cpu = 1; cpu < nthreads; ++cpu)
    others.emplace_back([&, cpu] {
      pin_to(cpu);
      void* p = mmap(nullptr, k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      go.fetch_add(1);
      while (!stop.load(std::memory_order_relaxed)) {
        static_cast<volatile char*>(p)[0] = 1;
        madvise(p, k_page, MADV_DONTNEED);
        peer_ops.fetch_add(1, std::memory_order_relaxed);
      }
      munmap(p, k_page);
    });
  while (go.load() + 1 < nthreads) std::this_thread::yield();
  void* p = mmap(nullptr, k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  phase_sample s = measure(
      ctx,
      [p](std::uint64_t) {
        static_cast<volatile char*>(p)[0] = 1;
        madvise(p, k_page, MADV_DONTNEED);
      },
      nthreads > 1 ? &peer_ops : nullptr, nthreads - 1);
  stop.store(true);
  for (auto& t : others) t.join();
  munmap(p, k_page);
  return s;
}

// mprotect-none-rw: one op = PROT_NONE then PROT_READ|PROT_WRITE over `pages` touched pages.
// The region is a VMA of its own, in the middle of the reserved hole with unmapped space on
// both sides: next to another read-write anonymous VMA it would be merged with it, and every
// toggle would split it out and merge it back (vma_modify), work the phase does not name.
phase_sample mprotect_round(const context& ctx) {
  const std::size_t len = static_cast<std::size_t>(ctx.param("pages")) * k_page;
  void* p = map_at(free_gib_hole() + k_gib / 2, len);
  if (!p) throw std::runtime_error("mmap of the test region failed");
  touch(p, len, k_page);
  phase_sample s = measure(ctx, [p, len](std::uint64_t) {
    mprotect(p, len, PROT_NONE);
    mprotect(p, len, PROT_READ | PROT_WRITE);
  });
  munmap(p, len);
  return s;
}

// khugepaged-collapse: MADV_COLLAPSE of one 2 MiB-aligned range of 512 touched small pages.
// The kernel clears the PMD, flushes (pmdp_collapse_flush) and syncs GUP-fast
// (tlb_remove_table_sync_one: call-function IPIs to every other CPU).
phase_sample collapse_rounds(const context& ctx) {
  constexpr std::size_t huge = 2 << 20;
  void* area = nullptr;
  char* aligned = nullptr;
  return measure_rounds(
      ctx, 1,
      [&] {
        area = mmap(nullptr, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(area) + huge - 1) &
                                          ~(huge - 1));
        madvise(aligned, huge, MADV_NOHUGEPAGE);  // fault in small pages
        touch(aligned, huge, k_page);
        madvise(aligned, huge, MADV_HUGEPAGE);
      },
      [&] {
        ++collapse_calls;
        if (madvise(aligned, huge, k_madv_collapse) != 0) {
          ++collapse_failures;
          collapse_errno = errno;
        }
      },
      [&] { munmap(area, 2 * huge); });
}

// fork-cow-reuse: the parent writes pages that fork() write-protected. `reuse`: the child
// already exited, so each write fault reuses the page; `copy`: the child lives, so each write
// copies the page (and flushes the old translation).
phase_sample cow_rounds(const context& ctx, bool child_lives) {
  const auto pages = static_cast<std::size_t>(ctx.param("pages"));
  void* p =
      mmap(nullptr, pages * k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(p, pages * k_page, k_page);
  pid_t child = -1;
  int gate[2] = {-1, -1};
  phase_sample s = measure_rounds(
      ctx, pages,
      [&] {
        if (pipe(gate) != 0) throw std::runtime_error("pipe failed");
        child = fork_without_handlers();
        if (child == 0) {
          char c;
          close(gate[1]);
          if (child_lives) (void)!read(gate[0], &c, 1);  // wait until the parent is done
          _exit(0);
        }
        close(gate[0]);
        if (!child_lives) waitpid(child, nullptr, 0);
      },
      [&] { touch(p, pages * k_page, k_page); },
      [&] {
        close(gate[1]);
        if (child_lives) waitpid(child, nullptr, 0);
      });
  munmap(p, pages * k_page);
  return s;
}

// uffd-move: UFFDIO_MOVE of `pages` present pages (512 by default). `aligned`: starts at a
// 2 MiB boundary on both sides (512 pages: inside one PTE table, one batch); `crossing`:
// starts pages/2 before one, so batches are cut at the PMD boundary (move_present_ptes
// batches never cross one). Each area: 2 MiB of alignment slack, the pages before the
// boundary rounded up to 2 MiB, then the rest.
phase_sample uffd_move_rounds(const context& ctx, bool crossing) {
  constexpr std::size_t huge = 2 << 20;
  const uffd_layout l = uffd_area_layout(ctx.param("pages"), crossing);
  const auto len = static_cast<std::size_t>(l.len);
  const auto start = static_cast<std::size_t>(l.head - l.before);  // from an area's aligned start
  const auto used = static_cast<std::size_t>(l.used);
  const std::size_t area = huge + used;  // 2 MiB of alignment slack
  uffd_mover uffd;
  std::string why;
  if (!uffd_mover::open(uffd, why)) throw phase_unavailable(why);
  char* src_area = nullptr;
  char* dst_area = nullptr;
  char* src = nullptr;
  char* dst = nullptr;
  auto align = [](char* p) {
    return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + huge - 1) & ~(huge - 1));
  };
  return measure_rounds(
      ctx, 1,
      [&] {
        src_area = static_cast<char*>(
            mmap(nullptr, area, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        dst_area = static_cast<char*>(
            mmap(nullptr, area, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (src_area == MAP_FAILED || dst_area == MAP_FAILED)
          throw std::runtime_error("mmap of the UFFDIO_MOVE areas failed");
        madvise(src_area, area, MADV_NOHUGEPAGE);
        madvise(dst_area, area, MADV_NOHUGEPAGE);
        src = align(src_area) + start;
        dst = align(dst_area) + start;
        touch(src, len, k_page);
        if (!uffd.register_range(align(dst_area), used))
          throw phase_unavailable("UFFDIO_REGISTER failed: " + std::string(std::strerror(errno)));
      },
      [&] {
        if (const long moved = uffd.move(dst, src, len); moved != static_cast<long>(len))
          throw phase_unavailable("UFFDIO_MOVE moved " + std::to_string(moved) + " of " +
                                  std::to_string(len) + " bytes");
      },
      [&] {
        munmap(src_area, area);
        munmap(dst_area, area);
      });
}

// hugetlb-fork-exit: a MAP_SHARED hugetlb file over `windows` whole 1 GiB-aligned PUD
// ranges, so that PMD tables can be shared (huge_pmd_share). The parent touches `touch` huge
// pages per window (8 in one window by default), evenly spread; each child touches the same
// pages and exits, unsharing its PMD tables (huge_pmd_unshare). Sharing shows in the child's
// faults: sharing the parent's table resolves every page the parent populated in that
// window with a single fault; without it each page faults.
constexpr std::size_t k_huge = std::size_t{2} << 20;
std::uint64_t g_child_faults = 0;
std::uint64_t g_children = 0;
std::size_t g_child_touch = 0;    // pages each child touched (the note's "no sharing" count)
std::size_t g_child_windows = 0;  // windows they are in (the note's "sharing" count)

struct hugetlb_region {
  int fd = -1;
  char* p = nullptr;
  std::size_t len = 0;
  std::size_t touch = 0, windows = 0, stride = 0;  // pages written: w * 1 GiB + i * stride
  hugetlb_region(std::size_t per_window, std::size_t n_windows)
      : len(n_windows * k_gib),
        touch(per_window),
        windows(n_windows),
        stride(
            static_cast<std::size_t>(hugetlb_touch_stride(static_cast<std::int64_t>(per_window)))) {
    const std::size_t n = touch * windows;
    if (hugepages_free().value_or(0) < n)
      throw phase_unavailable("fewer than " + std::to_string(n) +
                              " free huge pages: rerun as root with --reserve-hugepages " +
                              std::to_string(2 * n) + ", or echo " + std::to_string(2 * n) +
                              " > /proc/sys/vm/nr_hugepages");
    fd = memfd_create("shootdown-hugetlb", MFD_CLOEXEC | MFD_HUGETLB);
    if (fd < 0)
      throw phase_unavailable("memfd_create(MFD_HUGETLB) failed: " +
                              std::string(std::strerror(errno)));
    if (ftruncate(fd, static_cast<off_t>(len)) != 0)
      throw phase_unavailable("ftruncate of the hugetlb file failed");
    void* m = mmap(reinterpret_cast<void*>(free_gib_hole(windows)), len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0);
    if (m == MAP_FAILED)
      throw phase_unavailable("mmap of the hugetlb file failed: " +
                              std::string(std::strerror(errno)));
    p = static_cast<char*>(m);
    for (std::size_t w = 0; w < windows; ++w)
      for (std::size_t i = 0; i < touch; ++i) p[w * k_gib + i * stride] = 1;
  }
  ~hugetlb_region() {
    if (p) munmap(p, len);
    if (fd >= 0) close(fd);  // the memfd leaves no file behind
  }
};

void place_on(pid_t pid, unsigned cpu) {
  cpu_set_t set = only_cpu(cpu);
  (void)sched_setaffinity(pid, sizeof(set), &set);  // the report says where it ran
}

std::int64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// What a child writes to the report pipe (one write, under PIPE_BUF: atomic).
struct child_report {
  unsigned child = 0;
  unsigned start_cpu = 0, exit_cpu = 0;  // sched_getcpu() at start_ns and exit_ns
  long faults = 0;                       // minor faults while touching the parent's pages
  std::int64_t start_ns = 0;             // CLOCK_MONOTONIC before its first touch
  std::int64_t exit_ns = 0;              // and just before it exits
};

// A child: touch the parent's pages, report, exit. With `go_fd` it first waits for a byte
// there (serial: see hugetlb_rounds); with a gate it waits for EOF there before exiting
// (concurrent).
pid_t spawn_child(const hugetlb_region& r, unsigned child, int report_fd, const int gate[2],
                  int go_fd) {
  const pid_t pid = fork_without_handlers();
  if (pid != 0) return pid;
  const int gate_fd = gate[0];
  if (gate[1] >= 0) close(gate[1]);  // so that the parent closing its end means EOF
  char c;
  if (go_fd >= 0) (void)!read(go_fd, &c, 1);
  child_report rep;
  rep.child = child;
  rusage before{}, after{};
  // The first clock and CPU readings in a new child added 2 faults to its count (3.00 per
  // child instead of 1.00 for 8 pages in one window; the vDSO's pages, presumably): done
  // here, outside the count of the hugetlb pages' faults.
  (void)monotonic_ns();
  (void)sched_getcpu();
  getrusage(RUSAGE_SELF, &before);
  rep.start_cpu = static_cast<unsigned>(sched_getcpu());
  rep.start_ns = monotonic_ns();  // the first touch follows at once
  // Offsets computed, not read from memory: between the two getrusage calls the child touches
  // only the hugetlb pages (a sanitizer build's checks of a heap vector added faults here).
  for (std::size_t w = 0; w < r.windows; ++w)
    for (std::size_t i = 0; i < r.touch; ++i) {
      volatile char& b = static_cast<volatile char*>(r.p)[w * k_gib + i * r.stride];
      b = static_cast<char>(b + 1);
    }
  getrusage(RUSAGE_SELF, &after);
  rep.faults = after.ru_minflt - before.ru_minflt;
  rep.exit_ns = monotonic_ns();  // concurrent: before the wait (the order is not recorded)
  rep.exit_cpu = static_cast<unsigned>(sched_getcpu());
  (void)!write(report_fd, &rep, sizeof(rep));
  if (gate_fd >= 0) (void)!read(gate_fd, &c, 1);  // concurrent: wait until all are alive
  _exit(0);
}

// The round's events in clock order (a fork before its child's events at equal readings).
std::vector<child_event> events_in_order(const std::vector<std::int64_t>& fork_ns,
                                         const std::vector<child_report>& reports) {
  struct timed {
    std::int64_t ns;
    int rank;
    child_event e;
  };
  std::vector<timed> t;
  for (unsigned i = 0; i < fork_ns.size(); ++i) t.push_back({fork_ns[i], 0, {'f', i, 0}});
  for (const auto& r : reports) {
    t.push_back({r.start_ns, 1, {'s', r.child, r.start_cpu}});
    t.push_back({r.exit_ns, 2, {'x', r.child, r.exit_cpu}});
  }
  std::sort(t.begin(), t.end(), [](const timed& a, const timed& b) {
    return std::tie(a.ns, a.rank, a.e.child) < std::tie(b.ns, b.rank, b.e.child);
  });
  std::vector<child_event> out;
  for (const auto& x : t) out.push_back(x.e);
  return out;
}

enum class children_mode { serial, concurrent, burst };

phase_sample hugetlb_rounds(const context& ctx, children_mode mode) {
  const unsigned n =
      mode == children_mode::serial ? 1 : static_cast<unsigned>(ctx.param("children"));
  const auto windows = static_cast<std::size_t>(ctx.param("windows"));
  hugetlb_region region(static_cast<std::size_t>(ctx.param("touch")), windows);
  g_child_touch = region.touch * region.windows;
  g_child_windows = windows;
  int report[2];
  if (pipe(report) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> kids;
  std::vector<std::int64_t> fork_ns;
  std::vector<std::vector<child_event>> order;
  int gate[2] = {-1, -1};
  // Serial: the child starts only when the parent has split its counts (fork_done). Pinned
  // to the parent's CPU it can still run before the parent waits, when the scheduler
  // preempts the parent; it then ran and exited between the fork's window and the rest's,
  // while the parent read its counters, and its sync was in neither (traced: 2 of 16 serial
  // syncs queued after one window closed and before the next opened).
  int go[2] = {-1, -1};
  if (mode == children_mode::serial && pipe(go) != 0) throw std::runtime_error("pipe failed");
  std::vector<child_report> reports;
  auto read_report = [&] {
    child_report rep;
    if (read(report[0], &rep, sizeof(rep)) == sizeof(rep)) {
      g_child_faults += static_cast<std::uint64_t>(rep.faults);
      ++g_children;
      reports.push_back(rep);
    }
  };
  phase_sample s = measure_rounds(
      ctx, n,
      [&] {
        kids.clear();
        fork_ns.clear();
        reports.clear();
      },
      [&](const std::function<void()>& fork_done) {
        gate[0] = gate[1] = -1;
        if (mode == children_mode::concurrent && pipe(gate) != 0)
          throw std::runtime_error("pipe failed");
        for (unsigned i = 0; i < n; ++i) {
          fork_ns.push_back(monotonic_ns());
          kids.push_back(spawn_child(region, i, report[1], gate, go[0]));
          // Burst: child i runs on CPU i mod ncpus (the parent stays on CPU 0), placed before
          // it first runs unless it preempted the parent already (its report says where).
          if (mode == children_mode::burst && ctx.ncpus > 1) place_on(kids.back(), i % ctx.ncpus);
          if (mode == children_mode::serial) {
            fork_done();  // the counts so far are the fork's own: the child waits for `go`
            const char c = 1;
            if (write(go[1], &c, 1) != 1) throw std::runtime_error("write to the child failed");
            waitpid(kids.back(), nullptr, 0);
          }
        }
        if (mode == children_mode::concurrent) {
          // Every child has faulted (shares the tables) before any exits: without waiting
          // for their reports, a child scheduled only after the gate closed touched and
          // exited alone, and its exit was a last-sharer unshare (a sync) too.
          for (unsigned i = 0; i < n; ++i) read_report();
          close(gate[0]);
          close(gate[1]);  // every child reads EOF and exits
        }
        // Burst: nothing holds a child back; each touches and exits when the scheduler runs
        // it, so whether another child still shares a table when one exits is the host's
        // interleaving, recorded below.
        for (pid_t k : kids) waitpid(k, nullptr, 0);
      },
      [&] {
        if (mode != children_mode::concurrent)
          for (unsigned i = 0; i < n; ++i) read_report();
        if (mode == children_mode::burst) order.push_back(events_in_order(fork_ns, reports));
      });
  close(report[0]);
  close(report[1]);
  if (go[0] >= 0) {
    close(go[0]);
    close(go[1]);
  }
  s.child_order = std::move(order);
  return s;
}

}  // namespace

// host/phases.h. Checked once per phase, not per op (the check maps and unmaps). Between
// phases anything else mapping with a null hint may be given the unmapped hole (in a
// sanitizer build a phase's MAP_FIXED_NOREPLACE failed with EEXIST, most likely after the
// runtime's allocator took it): then a new one is reserved.
// A hole of another size is reserved anew too (its neighbours must end at its bounds).
std::uintptr_t free_gib_hole(std::size_t gib) {
  static std::uintptr_t hole = 0;
  static std::size_t hole_gib = 0;
  if (hole && hole_gib == gib) {
    void* probe = mmap(reinterpret_cast<void*>(hole), gib * k_gib, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (probe != MAP_FAILED) {
      munmap(probe, gib * k_gib);
      if (reinterpret_cast<std::uintptr_t>(probe) == hole) return hole;
    }
  }
  hole = reserve_gib_hole(gib);
  hole_gib = gib;
  return hole;
}

void pin_to(unsigned cpu) {
  cpu_set_t set = only_cpu(cpu);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// host/phases.h says why.
void visit_every_cpu(unsigned ncpus) {
  for (unsigned cpu = 1; cpu < ncpus; ++cpu)
    std::thread([cpu] {
      pin_to(cpu);
      std::vector<char> page(k_page);
      touch(page.data(), page.size(), k_page);
    }).join();
}

const std::vector<scenario_def>& scenarios() {
  static const std::vector<scenario_def> k{
      {{"munmap-free-tables",
        "map `region` at a 1 GiB-aligned address, write `touch_pages` pages, munmap (frees tables)",
        2000},
       {{"alone", "no other thread of the process runs", false,
         [](const context& c) { return munmap_round(c); }},
        {"with-siblings", "a sibling thread spins in user mode on every other CPU", true,
         with_siblings<munmap_round>},
        {"unmap", "the munmap alone: mapped and written outside the window", false,
         [](const context& c) { return unmap_rounds(c, true); }},
        {"unmap-empty", "the munmap alone of the region with no page written", false,
         [](const context& c) { return unmap_rounds(c, false); }}}},
      {{"tlb-flush-threads", "threads write a page and MADV_DONTNEED it in a loop (tlb_flush2)",
        20000},
       {{"one-thread", "only the measured thread", false,
         [](const context& c) { return dontneed_threads(c, 1); }},
        {"all-cpus", "one thread per CPU, each on its own page; time is the measured thread's",
         true, [](const context& c) { return dontneed_threads(c, c.ncpus); }}}},
      {{"khugepaged-collapse", "MADV_COLLAPSE of a 2 MiB-aligned range of 512 touched small pages",
        200},
       {{"alone", "no other thread of the process runs", false,
         [](const context& c) { return collapse_rounds(c); }},
        {"with-siblings", "a sibling thread spins in user mode on every other CPU", true,
         with_siblings<collapse_rounds>}}},
      {{"fork-cow-reuse", "fork, then the parent writes `pages` write-protected pages", 6400},
       {{"reuse", "the child has exited: write faults reuse the pages", false,
         [](const context& c) { return cow_rounds(c, false); }},
        {"copy", "the child lives: write faults copy the pages", false,
         [](const context& c) { return cow_rounds(c, true); }}}},
      {{"hugetlb-fork-exit",
        "children of a process with a shared hugetlb mapping of `windows` 1 GiB windows touch "
        "`touch` huge pages in each and exit",
        64},
       {{"serial", "one child at a time: fork, touch, exit", false,
         [](const context& c) { return hugetlb_rounds(c, children_mode::serial); }},
        {"concurrent", "`children` children alive at once, then all exit", false,
         [](const context& c) { return hugetlb_rounds(c, children_mode::concurrent); }},
        {"burst",
         "`children` children forked at once, child i on CPU i mod CPUs, each touches and exits "
         "unwaited",
         false, [](const context& c) { return hugetlb_rounds(c, children_mode::burst); }}}},
      {{"uffd-move", "UFFDIO_MOVE of `pages` contiguous present pages", 200},
       {{"aligned", "source and destination start at a 2 MiB boundary", false,
         [](const context& c) { return uffd_move_rounds(c, false); }},
        {"crossing", "starts pages/2 before a 2 MiB boundary", false,
         [](const context& c) { return uffd_move_rounds(c, true); }}}},
      {{"mprotect-none-rw", "mprotect `pages` touched pages PROT_NONE then read-write", 20000},
       {{"alone", "no other thread of the process runs", false,
         [](const context& c) { return mprotect_round(c); }},
        {"with-siblings", "a sibling thread spins in user mode on every other CPU", true,
         with_siblings<mprotect_round>}}},
  };
  return k;
}

std::vector<std::string> workload_notes() {
  std::vector<std::string> notes;
  if (g_children) {
    char avg[32];
    std::snprintf(avg, sizeof(avg), "%.2f",
                  static_cast<double>(g_child_faults) / static_cast<double>(g_children));
    const std::string n = std::to_string(g_child_touch), w = std::to_string(g_child_windows);
    notes.push_back(
        std::string("hugetlb PMD sharing: children took ") + avg + " faults on average for " + n +
        " pages the parent had populated in " + w + " window(s)" +
        (g_child_touch > g_child_windows
             ? " (" + w + " = the child shared the parent's PMD table of each window; " + n +
                   " = no sharing)"
             : " (with one page per window the faults cannot tell whether the child shared the "
               "parent's PMD tables: --set touch=2 or more)"));
  }
  if (collapse_failures)
    notes.push_back(std::to_string(collapse_failures) + " of " + std::to_string(collapse_calls) +
                    " MADV_COLLAPSE calls failed (last: " + std::strerror(collapse_errno) +
                    "); collapse needs Linux 6.1+, THP not 'never' in "
                    "/sys/kernel/mm/transparent_hugepage/enabled, and free huge pages");
  return notes;
}

}  // namespace sd::host
