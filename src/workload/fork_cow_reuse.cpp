// fork-cow-reuse (seed 003, arm64 local flush on write-fault reuse): a process with several
// threads forks; the child exits at once (as after exec), so every page is again the
// parent's alone but write-protected. The threads read the region (caching read-only
// entries), then all write it, each starting at a different offset. The first write to a
// page reuses it (do_wp_page -> wp_page_reuse): arm64 broadcast a TLBI there before the
// patch, flushes only locally after it; other threads' stale read-only entries then take a
// spurious fault that flushes locally. x86 flushes nothing (the fault drops the entry).
#include <memory>

#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr param_decl k_params[] = {
    {"threads", param_kind::count, "threads of the parent, one per CPU from CPU 0",
     [](unsigned cpus) -> std::int64_t { return cpus > 4 ? 4 : (cpus > 1 ? cpus - 1 : 1); }, 1,
     4095},
    {"pages", param_kind::count, "pages of the private anonymous region",
     [](unsigned) -> std::int64_t { return 64; }, 1, 262144},
    {"rounds", param_kind::count, "fork + child exit + read + write rounds",
     [](unsigned) -> std::int64_t { return 4; }, 1, 100'000},
    {"shared", param_kind::flag,
     "every thread reads and writes the whole region (off: each only its own slice, as in "
     "usemem, so no other CPU holds a stale entry)",
     [](unsigned) -> std::int64_t { return 1; }, 0, 1},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"threads"}, 1, "1 (the child's CPU)");
}

struct shared {
  explicit shared(int n) : phase(n) {}
  process parent;
  barrier phase;
  sequence child_go;    // advanced once per round after the fork
  sequence child_done;  // advanced when the child has exited
  mm::mm_struct* child = nullptr;
};

void build(kernel& k, const param_values& p, thread_group& threads) {
  const auto n = static_cast<unsigned>(p.at("threads"));
  auto s = std::make_shared<shared>(static_cast<int>(n));
  s->parent.mm = &k.new_mm("fork-cow-reuse");
  s->parent.users = static_cast<int>(n);
  const va_t pages = static_cast<va_t>(p.at("pages"));
  const va_t len = pages * mm::PAGE_SIZE;
  const std::int64_t rounds = p.at("rounds");
  const bool shared_pages = p.at("shared") != 0;
  for (unsigned t = 0; t < n; ++t) {
    // The pages this thread reads and writes: all of them, or its own slice.
    const va_t first = shared_pages ? 0 : t * pages / n;
    const va_t count = shared_pages ? pages : (t + 1) * pages / n - first;
    threads.spawn(
        t, [s, t, n, pages, len, rounds, first, count](kernel& k, unsigned cpu) -> sim::task<> {
          co_await s->parent.enter(k, cpu);
          if (t == 0) {
            co_await kern::sys_mmap(k, cpu, k_user_base, len);
            for (va_t i = 0; i < pages; ++i)
              co_await kern::user_access(k, cpu, k_user_base + i * mm::PAGE_SIZE, true);
          }
          for (std::int64_t r = 0; r < rounds; ++r) {
            co_await s->phase.arrive_and_wait(k);
            if (t == 0) {
              s->child = &k.new_mm("fork-cow-reuse child");
              co_await timed(k, cpu, "fork", kern::sys_fork(k, cpu, *s->child));
              s->child_go.advance(k);
              co_await s->child_done.wait_for(k, static_cast<std::uint64_t>(r) + 1);
            }
            co_await s->phase.arrive_and_wait(k);
            for (va_t i = first; i < first + count; ++i)  // cache read-only entries
              co_await kern::user_access(k, cpu, k_user_base + i * mm::PAGE_SIZE, false);
            co_await s->phase.arrive_and_wait(k);
            co_await timed(k, cpu, "write_phase", [&]() -> sim::task<> {
              for (va_t i = 0; i < count; ++i) {
                const va_t page = first + (i + t * count / n) % count;
                co_await kern::user_access(k, cpu, k_user_base + page * mm::PAGE_SIZE, true);
              }
            }());
            ++k.stats.ops_completed;
          }
          co_await s->parent.leave(k, cpu);
        });
  }
  // The child: runs on CPU n and exits at once each round (fork + exec of a small program).
  threads.spawn(n, [s, rounds](kernel& k, unsigned cpu) -> sim::task<> {
    for (std::int64_t r = 0; r < rounds; ++r) {
      co_await s->child_go.wait_for(k, static_cast<std::uint64_t>(r) + 1);
      co_await kern::switch_to_task(k, cpu, *s->child);
      co_await kern::mmput_last(k, cpu);
      co_await kern::switch_to_idle(k, cpu);
      s->child_done.advance(k);
    }
  });
}

}  // namespace

const builtin_scenario fork_cow_reuse{
    "fork-cow-reuse",
    "fork, child exits, parent threads write the write-protected pages: reuse faults and flushes",
    "seed 003 (arm64 local flush on write-fault reuse: flush share 50.5% -> 0.3%)",
    k_params,
    validate,
    build};

}  // namespace sd::workload
