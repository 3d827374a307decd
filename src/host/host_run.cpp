#include "host/host_run.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>

#include "host/hugetlb.h"
#include "host/interrupts.h"
#include "host/text_file.h"
#include "host/tracepoints.h"
#include "host/uffd_move.h"

namespace sd::host {

namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
std::uint64_t collapse_calls = 0;
std::uint64_t collapse_failures = 0;
int collapse_errno = 0;  // errno of the last failed MADV_COLLAPSE
#ifdef MADV_COLLAPSE
constexpr int k_madv_collapse = MADV_COLLAPSE;
#else
constexpr int k_madv_collapse = 25;  // Linux 6.1
#endif
extern "C" void on_signal(int sig) {
  g_signal.store(sig);
  g_interrupted.store(true);
}

using clock_type = std::chrono::steady_clock;

// A phase this machine cannot run (missing kernel feature or permission): reported, not fatal.
struct phase_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void pin_to(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

constexpr std::size_t k_page = 4096;
constexpr std::size_t k_gib = std::size_t{1} << 30;

// A free 1 GiB-aligned 1 GiB hole whose neighbours end and begin exactly at its bounds: a
// PROT_NONE reservation chosen by the kernel (so it avoids sanitizer shadow memory and
// libraries) with its aligned middle unmapped. A region mapped in the hole and unmapped
// again frees its PTE tables and its PMD table (free_pgtables' floor/ceiling rule), and a
// hugetlb mapping of the whole hole covers a full PUD range (needed for PMD sharing).
std::uintptr_t gib_hole() {
  static const std::uintptr_t hole = [] {
    void* r =
        mmap(nullptr, 3 * k_gib, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) throw std::runtime_error("cannot reserve 3 GiB of address space");
    const auto aligned = (reinterpret_cast<std::uintptr_t>(r) + k_gib - 1) & ~(k_gib - 1);
    munmap(reinterpret_cast<void*>(aligned), k_gib);
    return aligned;
  }();
  return hole;
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

// Before the phases: a thread of this process runs once on every other CPU and exits, so
// each of those CPUs idles holding the mm lazily, with its bit in mm_cpumask (x86 keeps it
// until a flush trims it). Without this, which CPUs hold the mm depends on where the
// scheduler happened to run the process before it pinned itself, and so does whether CPU
// 0's flushes call flush_tlb_multi (predict/twins.cpp gives the model the same start).
void visit_every_cpu(unsigned ncpus) {
  for (unsigned cpu = 1; cpu < ncpus; ++cpu)
    std::thread([cpu] {
      pin_to(cpu);
      std::vector<char> page(k_page);
      touch(page.data(), page.size(), k_page);
    }).join();
}

struct context {
  unsigned ncpus;
  std::uint64_t iterations;
  clock_type::duration timeout;
  tracepoint_counters* tracepoint;  // tlb:tlb_flush by reason (null: unavailable)
  tracepoint_counters* csd;         // csd:csd_queue_cpu by callback (null: unavailable)
  tracepoint_counters* csd_all;     // the same, any task on any CPU (null: unavailable)
};

// Counters around one measured window. Nesting, from outside in: the tracepoint counters
// (reading an enabled per-CPU event may IPI its CPU, so those reads stay outside the IPI
// window), /proc/interrupts (read without allocating, so the allocator's munmap/madvise
// cannot show up as flushes), then the workload. Buffers are sized before the window.
class window {
 public:
  explicit window(const context& ctx) : ctx_(ctx) {
    read_tracepoints(f0_);
    read_tracepoints(f1_);  // sizes the buffers
    irq_.read(i0_);
    i1_ = i0_;
  }
  void open() {
    read_tracepoints(f0_);
    have_irq_ = irq_.read(i0_);
    t0_ = clock_type::now();
  }
  clock_type::duration close(phase_sample& s) {
    const auto t1 = clock_type::now();
    have_irq_ = irq_.read(i1_) && have_irq_;
    read_tracepoints(f1_);
    if (have_irq_) {
      s.tlb_ipis_per_cpu.resize(i0_.tlb.size(), 0);
      s.cal_ipis_per_cpu.resize(i0_.tlb.size(), 0);
      for (std::size_t c = 0; c < i0_.tlb.size(); ++c) {
        s.tlb_ipis_per_cpu[c] += i1_.tlb[c] - i0_.tlb[c];
        s.cal_ipis_per_cpu[c] += i1_.cal[c] - i0_.cal[c];
      }
    }
    add_delta(ctx_.tracepoint, 0, s.flushes_by_reason);
    add_delta(ctx_.csd, 1, s.csd_queued);
    add_delta(ctx_.csd_all, 2, s.csd_queued_all);
    return t1 - t0_;
  }

 private:
  void read_tracepoints(std::vector<std::uint64_t> (&into)[3]) const {
    if (ctx_.tracepoint) ctx_.tracepoint->read_raw(into[0]);
    if (ctx_.csd) ctx_.csd->read_raw(into[1]);
    if (ctx_.csd_all) ctx_.csd_all->read_raw(into[2]);
  }
  void add_delta(const tracepoint_counters* c, std::size_t i,
                 std::map<std::string, std::uint64_t>& out) const {
    if (!c) return;
    std::vector<std::uint64_t> d(f1_[i].size());
    for (std::size_t j = 0; j < d.size(); ++j) d[j] = f1_[i][j] - f0_[i][j];
    for (const auto& [k, v] : c->by_key(d)) out[k] += v;
  }

  const context& ctx_;
  interrupt_reader irq_;
  irq_counts i0_, i1_;
  bool have_irq_ = false;
  std::vector<std::uint64_t> f0_[3], f1_[3];  // tlb:tlb_flush, csd:csd_queue_cpu (ours, all)
  clock_type::time_point t0_;
};

// Before a phase: 100 ms in which this process only sleeps, counted by the same window.
background_sample measure_background(const context& ctx) {
  phase_sample s;
  window w(ctx);
  w.open();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto d = w.close(s);
  if (s.tlb_ipis_per_cpu.empty()) return {};  // no /proc/interrupts
  return {std::chrono::duration<double>(d).count(),
          std::accumulate(s.tlb_ipis_per_cpu.begin(), s.tlb_ipis_per_cpu.end(), std::uint64_t{0}),
          std::accumulate(s.cal_ipis_per_cpu.begin(), s.cal_ipis_per_cpu.end(), std::uint64_t{0})};
}

double ns_per(clock_type::duration d, std::uint64_t ops) {
  return ops ? std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(ops) : 0;
}

// Runs `body(i)` for up to ctx.iterations iterations (stopping early on timeout or Ctrl-C)
// inside one window.
phase_sample measure(const context& ctx, const std::function<void(std::uint64_t)>& body) {
  phase_sample s;
  window w(ctx);
  w.open();
  const auto t0 = clock_type::now();
  std::uint64_t i = 0;
  for (; i < ctx.iterations && !g_interrupted.load(); ++i) {
    body(i);
    if ((i & 63) == 63 && clock_type::now() - t0 > ctx.timeout) break;
  }
  s.ops = i;
  s.ns_per_op = ns_per(w.close(s), i);
  return s;
}

void add_counts(std::map<std::string, std::uint64_t>& into,
                const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

// A round's body may call `fork_done()` once, where its fork() returned in the parent: the
// counts up to there are also kept apart as the fork's (the window closes and reopens
// there, outside the timed part's bookkeeping).
using marked_body = std::function<void(const std::function<void()>& fork_done)>;

// Like measure(), but each round has a setup and a teardown outside its own window; a
// round's body performs `ops_per_round` operations. For operations that need fresh state.
phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const marked_body& body,
                            const std::function<void()>& teardown) {
  phase_sample s, fork;
  window w(ctx);
  clock_type::duration inside{};
  const auto start = clock_type::now();
  std::uint64_t rounds = 0;
  const std::uint64_t max_rounds = std::max<std::uint64_t>(1, ctx.iterations / ops_per_round);
  while (rounds < max_rounds && !g_interrupted.load()) {
    setup();
    w.open();
    body([&] {
      inside += w.close(fork);
      s.has_fork_part = true;
      w.open();
    });
    inside += w.close(s);
    teardown();
    ++rounds;
    if (clock_type::now() - start > ctx.timeout) break;
  }
  s.ops = rounds * ops_per_round;
  s.ns_per_op = ns_per(inside, s.ops);
  if (s.has_fork_part) {
    // The totals are the whole rounds: the fork's part is added back in.
    for (std::size_t c = 0; c < fork.tlb_ipis_per_cpu.size(); ++c) {
      s.tlb_ipis_per_cpu.at(c) += fork.tlb_ipis_per_cpu[c];
      s.cal_ipis_per_cpu.at(c) += fork.cal_ipis_per_cpu[c];
    }
    add_counts(s.flushes_by_reason, fork.flushes_by_reason);
    add_counts(s.csd_queued, fork.csd_queued);
    add_counts(s.csd_queued_all, fork.csd_queued_all);
    s.fork_flushes_by_reason = std::move(fork.flushes_by_reason);
    s.fork_csd_queued = std::move(fork.csd_queued);
  }
  return s;
}

phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const std::function<void()>& body,
                            const std::function<void()>& teardown) {
  return measure_rounds(
      ctx, ops_per_round, setup, [&](const std::function<void()>&) { body(); }, teardown);
}

// A phase body run while a sibling thread spins in user mode on every other CPU.
template <phase_sample (*Body)(const context&)>
phase_sample with_siblings(const context& c) {
  siblings s(c.ncpus);
  return Body(c);
}

using phase_fn = std::function<phase_sample(const context&)>;
struct phase_def {
  const char* name;
  const char* what;
  bool needs_two_cpus;
  phase_fn run;
};

// munmap-free-tables: map 4 MiB, touch 64 pages, unmap (frees 2 PTE tables + 1 PMD table).
phase_sample munmap_round(const context& ctx) {
  constexpr std::size_t len = 4 << 20;
  return measure(ctx, [](std::uint64_t) {
    void* p = map_at(gib_hole(), len);
    if (!p) throw std::runtime_error("mmap of the test region failed");
    touch(p, len, len / 64);
    munmap(p, len);
  });
}

// tlb-flush-threads (will-it-scale tlb_flush2 style): write a page, MADV_DONTNEED it.
phase_sample dontneed_threads(const context& ctx, unsigned nthreads) {
  std::atomic<unsigned> go{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> others;
  for (unsigned cpu = 1; cpu < nthreads; ++cpu)
    others.emplace_back([&, cpu] {
      pin_to(cpu);
      void* p = mmap(nullptr, k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      go.fetch_add(1);
      while (!stop.load(std::memory_order_relaxed)) {
        static_cast<volatile char*>(p)[0] = 1;
        madvise(p, k_page, MADV_DONTNEED);
      }
      munmap(p, k_page);
    });
  while (go.load() + 1 < nthreads) std::this_thread::yield();
  void* p = mmap(nullptr, k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  phase_sample s = measure(ctx, [p](std::uint64_t) {
    static_cast<volatile char*>(p)[0] = 1;
    madvise(p, k_page, MADV_DONTNEED);
  });
  stop.store(true);
  for (auto& t : others) t.join();
  munmap(p, k_page);
  return s;
}

// mprotect-none-rw: one op = PROT_NONE then PROT_READ|PROT_WRITE over 16 touched pages.
// The region is a VMA of its own, in the middle of the reserved hole with unmapped space on
// both sides: next to another read-write anonymous VMA it would be merged with it, and every
// toggle would split it out and merge it back (vma_modify), work the phase does not name.
phase_sample mprotect_round(const context& ctx) {
  constexpr std::size_t len = 16 * k_page;
  void* p = map_at(gib_hole() + k_gib / 2, len);
  if (!p) throw std::runtime_error("mmap of the test region failed");
  touch(p, len, k_page);
  phase_sample s = measure(ctx, [p](std::uint64_t) {
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
  constexpr std::size_t pages = 64;
  void* p =
      mmap(nullptr, pages * k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(p, pages * k_page, k_page);
  pid_t child = -1;
  int gate[2] = {-1, -1};
  phase_sample s = measure_rounds(
      ctx, pages,
      [&] {
        if (pipe(gate) != 0) throw std::runtime_error("pipe failed");
        child = fork();
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

// uffd-move: UFFDIO_MOVE of 512 present pages. `aligned`: inside one PTE table on both
// sides, one batch; `crossing`: starts 256 pages before a 2 MiB boundary, so batches are cut
// at the PMD boundary (move_present_ptes batches never cross one).
phase_sample uffd_move_rounds(const context& ctx, std::size_t offset_pages) {
  constexpr std::size_t huge = 2 << 20;
  constexpr std::size_t len = 512 * k_page;
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
            mmap(nullptr, 3 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        dst_area = static_cast<char*>(
            mmap(nullptr, 3 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        madvise(src_area, 3 * huge, MADV_NOHUGEPAGE);
        madvise(dst_area, 3 * huge, MADV_NOHUGEPAGE);
        src = align(src_area) + huge - offset_pages * k_page;
        dst = align(dst_area) + huge - offset_pages * k_page;
        touch(src, len, k_page);
        if (!uffd.register_range(align(dst_area), 2 * huge))
          throw phase_unavailable("UFFDIO_REGISTER failed: " + std::string(std::strerror(errno)));
      },
      [&] {
        if (const long moved = uffd.move(dst, src, len); moved != static_cast<long>(len))
          throw phase_unavailable("UFFDIO_MOVE moved " + std::to_string(moved) + " of " +
                                  std::to_string(len) + " bytes");
      },
      [&] {
        munmap(src_area, 3 * huge);
        munmap(dst_area, 3 * huge);
      });
}

// hugetlb-fork-exit: a MAP_SHARED hugetlb file over a whole 1 GiB-aligned PUD range, so
// that PMD tables can be shared (huge_pmd_share). The parent touches k_huge_touch pages;
// each child touches the same pages and exits, unsharing its PMD table (huge_pmd_unshare).
// Sharing shows in the child's faults: sharing the parent's table resolves every page the
// parent populated with a single fault; without it each page faults.
constexpr std::size_t k_huge = std::size_t{2} << 20;
constexpr std::size_t k_huge_touch = 8;
std::uint64_t g_child_faults = 0;
std::uint64_t g_children = 0;

struct hugetlb_region {
  int fd = -1;
  char* p = nullptr;
  hugetlb_region() {
    if (hugepages_free().value_or(0) < k_huge_touch)
      throw phase_unavailable("fewer than " + std::to_string(k_huge_touch) +
                              " free huge pages: rerun as root with --reserve-hugepages 16, or "
                              "echo 16 > /proc/sys/vm/nr_hugepages");
    fd = memfd_create("shootdown-hugetlb", MFD_CLOEXEC | MFD_HUGETLB);
    if (fd < 0)
      throw phase_unavailable("memfd_create(MFD_HUGETLB) failed: " +
                              std::string(std::strerror(errno)));
    if (ftruncate(fd, static_cast<off_t>(k_gib)) != 0)
      throw phase_unavailable("ftruncate of the hugetlb file failed");
    void* m = mmap(reinterpret_cast<void*>(gib_hole()), k_gib, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0);
    if (m == MAP_FAILED)
      throw phase_unavailable("mmap of the hugetlb file failed: " +
                              std::string(std::strerror(errno)));
    p = static_cast<char*>(m);
    for (std::size_t i = 0; i < k_huge_touch; ++i) p[i * 64 * k_huge] = 1;
  }
  ~hugetlb_region() {
    if (p) munmap(p, k_gib);
    if (fd >= 0) close(fd);  // the memfd leaves no file behind
  }
};

// A child: touch the parent's pages, report its minor faults, exit.
pid_t spawn_child(const hugetlb_region& r, int report_fd, const int gate[2]) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int gate_fd = gate[0];
  if (gate[1] >= 0) close(gate[1]);  // so that the parent closing its end means EOF
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (std::size_t i = 0; i < k_huge_touch; ++i) {
    volatile char& c = static_cast<volatile char*>(r.p)[i * 64 * k_huge];
    c = static_cast<char>(c + 1);
  }
  getrusage(RUSAGE_SELF, &after);
  const long faults = after.ru_minflt - before.ru_minflt;
  (void)!write(report_fd, &faults, sizeof(faults));
  char c;
  if (gate_fd >= 0) (void)!read(gate_fd, &c, 1);  // concurrent: wait until all are alive
  _exit(0);
}

phase_sample hugetlb_rounds(const context& ctx, unsigned concurrent) {
  hugetlb_region region;
  int report[2];
  if (pipe(report) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> kids;
  int gate[2] = {-1, -1};
  phase_sample s = measure_rounds(
      ctx, concurrent, [&] { kids.clear(); },
      [&](const std::function<void()>& fork_done) {
        gate[0] = gate[1] = -1;
        if (concurrent > 1 && pipe(gate) != 0) throw std::runtime_error("pipe failed");
        for (unsigned i = 0; i < concurrent; ++i) {
          kids.push_back(spawn_child(region, report[1], gate));
          // Serial: the child is pinned to the parent's CPU and cannot run before the
          // parent waits, so the counts so far are the fork's own.
          if (concurrent == 1) fork_done();
          if (concurrent == 1) waitpid(kids.back(), nullptr, 0);
        }
        if (concurrent > 1) {
          close(gate[0]);
          close(gate[1]);  // every child reads EOF and exits
          for (pid_t k : kids) waitpid(k, nullptr, 0);
        }
      },
      [&] {
        for (std::size_t i = 0; i < kids.size(); ++i) {
          long f = 0;
          if (read(report[0], &f, sizeof(f)) == sizeof(f)) {
            g_child_faults += static_cast<std::uint64_t>(f);
            ++g_children;
          }
        }
      });
  close(report[0]);
  close(report[1]);
  return s;
}

struct scenario_def {
  host_scenario_info info;
  std::vector<phase_def> phases;
};

const std::vector<scenario_def>& scenarios() {
  static const std::vector<scenario_def> k{
      {{"munmap-free-tables",
        "map 4 MiB at a 1 GiB-aligned address, touch 64 pages, munmap (frees tables)", 2000},
       {{"alone", "no other thread of the process runs", false,
         [](const context& c) { return munmap_round(c); }},
        {"with-siblings", "a sibling thread spins in user mode on every other CPU", true,
         with_siblings<munmap_round>}}},
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
      {{"fork-cow-reuse", "fork, then the parent writes 64 write-protected pages", 6400},
       {{"reuse", "the child has exited: write faults reuse the pages", false,
         [](const context& c) { return cow_rounds(c, false); }},
        {"copy", "the child lives: write faults copy the pages", false,
         [](const context& c) { return cow_rounds(c, true); }}}},
      {{"hugetlb-fork-exit",
        "children of a process with a shared 1 GiB hugetlb mapping touch 8 huge pages and exit",
        64},
       {{"serial", "one child at a time: fork, touch, exit", false,
         [](const context& c) { return hugetlb_rounds(c, 1); }},
        {"concurrent", "8 children alive at once, then all exit", false,
         [](const context& c) { return hugetlb_rounds(c, 8); }}}},
      {{"uffd-move", "UFFDIO_MOVE of 512 contiguous present pages", 200},
       {{"aligned", "source and destination inside one PTE table each", false,
         [](const context& c) { return uffd_move_rounds(c, 512); }},
        {"crossing", "starts 256 pages before a 2 MiB boundary", false,
         [](const context& c) { return uffd_move_rounds(c, 256); }}}},
      {{"mprotect-none-rw", "mprotect 16 touched pages PROT_NONE then read-write", 20000},
       {{"alone", "no other thread of the process runs", false,
         [](const context& c) { return mprotect_round(c); }},
        {"with-siblings", "a sibling thread spins in user mode on every other CPU", true,
         with_siblings<mprotect_round>}}},
  };
  return k;
}

}  // namespace

const std::vector<host_scenario_info>& host_scenarios() {
  static const std::vector<host_scenario_info> k = [] {
    std::vector<host_scenario_info> v;
    for (const auto& s : scenarios()) v.push_back(s.info);
    return v;
  }();
  return k;
}

bool measured_anything(const host_result& r) {
  for (const auto& p : r.phases)
    if (!p.repeats.empty()) return true;
  return false;
}

// The per-process csd counters miss calls that children queue while they exit: on 6.18.44
// the hugetlb children's unshare syncs (tlb_remove_table_smp_sync, queued from
// __unmap_hugepage_range in their exit_mmap) are traced system-wide, one per serial child,
// while the counters the children inherited count none (perf record -a against a per-task
// perf stat; cause not found). The every-task count of the same window tells: well above
// ours (more than other activity adds) means ours is not the workload's count.
std::string csd_calls_unseen(const phase_result& p) {
  for (const auto& s : p.repeats)
    for (const auto& [name, all] : s.csd_queued_all) {
      const auto it = s.csd_queued.find(name);
      const std::uint64_t ours = it == s.csd_queued.end() ? 0 : it->second;
      if (all > ours + 2 + s.ops / 10)
        return "the process's counters saw " + std::to_string(ours) + " of the " +
               std::to_string(all) + " " + name +
               " calls queued on this machine during a repeat: the rest were queued where "
               "per-process counting does not reach (children's exits)";
    }
  return "";
}

host_result run_host(const host_options& o) {
  const scenario_def* def = nullptr;
  for (const auto& s : scenarios())
    if (o.scenario == s.info.name) def = &s;
  if (!def) {
    std::string known;
    for (const auto& s : scenarios())
      known += (known.empty() ? "" : ", ") + std::string(s.info.name);
    throw std::invalid_argument("host scenario '" + o.scenario +
                                "' is not available (available: " + known + ")");
  }
  host_result r;
  r.scenario = o.scenario;
  r.cpus = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  r.iterations = o.iterations ? o.iterations : def->info.default_iterations;
  r.repeat = o.repeat;

  std::string why;
  if (auto note = restore_leftover_hugepages()) r.notes.push_back(*note);
  hugepage_reservation reservation;  // restores vm.nr_hugepages when the run ends
  if (o.reserve_hugepages && !reservation.reserve(o.reserve_hugepages, why))
    r.notes.push_back("huge pages not reserved: " + why);
  {
    interrupt_reader probe;
    r.have_interrupts = probe.ok();
    if (!r.have_interrupts) r.notes.push_back("no IPI counts: " + probe.why());
  }
  auto tp = tracepoint_counters::open_tlb_flush(why);
  r.have_tracepoint = tp != nullptr;
  if (!tp) r.notes.push_back("no flushes_by_reason: " + why);
  // The process's queued calls, and the machine's as a cross-check (csd_calls_unseen).
  std::unique_ptr<tracepoint_counters> csd, csd_all;
  if (std::string kallsyms; !read_text_file("/proc/kallsyms", kallsyms)) {
    r.notes.push_back("no csd_queued: /proc/kallsyms is unreadable");
  } else if (!(csd = tracepoint_counters::open_csd_queue(csd_callbacks(), kallsyms, why))) {
    r.notes.push_back("no csd_queued: " + why);
  } else if (!(csd_all =
                   tracepoint_counters::open_csd_queue(csd_callbacks(), kallsyms, why, true))) {
    r.notes.push_back("csd_queued not cross-checked against the machine's count: " + why);
  }
  r.have_csd_tracepoint = csd != nullptr;
  cpu_set_t saved;
  sched_getaffinity(0, sizeof(saved), &saved);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  visit_every_cpu(r.cpus);
  pin_to(0);

  const context ctx{
      r.cpus,
      r.iterations,
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.timeout_s)),
      tp.get(),
      csd.get(),
      csd_all.get()};
  for (const auto& ph : def->phases) {
    phase_result pr{ph.name, ph.what, {}, "", {}, ""};
    if (ph.needs_two_cpus && r.cpus < 2) {
      pr.skipped = "needs at least 2 online CPUs";
    } else {
      try {
        pr.background = measure_background(ctx);
        for (unsigned i = 0; i < o.repeat && !g_interrupted.load(); ++i)
          pr.repeats.push_back(ph.run(ctx));
      } catch (const phase_unavailable& e) {
        pr.repeats.clear();
        pr.skipped = e.what();
      }
    }
    pr.csd_queued_missing = csd_calls_unseen(pr);
    r.phases.push_back(std::move(pr));
  }
  sched_setaffinity(0, sizeof(saved), &saved);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (g_interrupted.load()) {
    r.interrupted_by = g_signal.load();
    r.notes.push_back(std::string("interrupted by ") +
                      (r.interrupted_by == SIGTERM ? "SIGTERM" : "SIGINT") +
                      ": results are partial, phases marked 'not run' did not run");
  }
  if (g_children) {
    char avg[32];
    std::snprintf(avg, sizeof(avg), "%.2f",
                  static_cast<double>(g_child_faults) / static_cast<double>(g_children));
    r.notes.push_back(std::string("hugetlb PMD sharing: children took ") + avg +
                      " faults on average for " + std::to_string(k_huge_touch) +
                      " pages the parent had populated (1 = the child shared the parent's PMD "
                      "table; " +
                      std::to_string(k_huge_touch) + " = no sharing)");
  }
  if (collapse_failures)
    r.notes.push_back(std::to_string(collapse_failures) + " of " + std::to_string(collapse_calls) +
                      " MADV_COLLAPSE calls failed (last: " + std::strerror(collapse_errno) +
                      "); collapse needs Linux 6.1+, THP not 'never' in "
                      "/sys/kernel/mm/transparent_hugepage/enabled, and free huge pages");
  return r;
}

}  // namespace sd::host
