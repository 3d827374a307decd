// munmap-free-tables (seeds 000, 004): a process with worker threads on several CPUs
// repeatedly maps, touches and unmaps regions large enough to free page tables, while one
// thread runs GUP-fast over the same mm and some CPUs hold the mm lazily.
//
//   CPUs [0, threads)                  workers; worker w owns a region at 1 TiB + w GiB, so
//                                      each munmap frees its PTE tables and its PMD table
//   next lazy_cpus CPUs                ran a thread of the mm that touched a worker's region,
//                                      then went idle: lazy TLB with the mm loaded
//   next CPU (if gup_fast)             walks random pages of the workers' regions
//   the rest                           idle with init_mm
#include <algorithm>
#include <memory>
#include <vector>

#include "kernel/paths.h"
#include "sim/rng.h"
#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t k_stride = va_t{1} << 30;

constexpr param_decl k_params[] = {
    {"threads", param_kind::count, "worker threads, one per CPU from CPU 0",
     [](unsigned cpus) -> std::int64_t { return cpus >= 4 ? cpus / 2 : 1; }, 1, 4096},
    {"lazy_cpus", param_kind::count,
     "CPUs that ran a thread of the mm, touched a worker's region and went idle (lazy TLB)",
     [](unsigned cpus) -> std::int64_t { return cpus >= 4 ? cpus / 4 : 0; }, 0, 4096},
    {"gup_fast", param_kind::flag, "one more CPU runs GUP-fast over the workers' regions",
     [](unsigned cpus) -> std::int64_t { return cpus >= 2 ? 1 : 0; }, 0, 1},
    {"iterations", param_kind::count, "map/touch/unmap rounds per worker",
     [](unsigned) -> std::int64_t { return 4; }, 1, 1'000'000},
    {"region", param_kind::size, "bytes mapped per round (2 MiB-aligned, at most 1 GiB)",
     [](unsigned) -> std::int64_t { return 4 << 20; }, 4096, std::int64_t{1} << 30},
    {"touch_pages", param_kind::count,
     "pages written per round: equal contiguous runs at the start of each 2 MiB of the region",
     [](unsigned) -> std::int64_t { return 64; }, 1, 262144},
    // At most 10ms: the GUP-fast thread walks every gup_interval meanwhile (it races the
    // munmaps), so run time grows with user_work / gup_interval.
    {"user_work", param_kind::time, "user-mode time between touching and unmapping",
     [](unsigned) -> std::int64_t { return 20'000; }, 0, 10'000'000},
    {"gup_pages", param_kind::count, "pages per GUP-fast call",
     [](unsigned) -> std::int64_t { return 16; }, 1, 512},
    {"gup_interval", param_kind::time, "user time between GUP-fast calls",
     [](unsigned) -> std::int64_t { return 5'000; }, 0, 10'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  if (auto e = need_cpus(cpus, p, {"threads", "lazy_cpus", "gup_fast"})) return e;
  if (p.at("region") % mm::PAGE_SIZE != 0) return {"region must be a multiple of 4KiB", {"region"}};
  if (p.at("touch_pages") * static_cast<std::int64_t>(mm::PAGE_SIZE) > p.at("region"))
    return {"touch_pages 4KiB pages must fit in region", {"touch_pages", "region"}};
  if (p.at("gup_pages") * static_cast<std::int64_t>(mm::PAGE_SIZE) > p.at("region"))
    return {"gup_pages 4KiB pages must fit in region", {"gup_pages", "region"}};
  return {};
}

struct shared_state {
  explicit shared_state(int parties) : ready(parties), lazy_done(parties) {}
  process proc;
  barrier ready;      // every worker mapped and touched its first region
  barrier lazy_done;  // the lazy CPUs touched their regions
  int workers_left = 0;
};

// Touched pages: a run of this many pages at the start of each 2 MiB chunk of the region.
va_t run_pages(const param_values& p) {
  const va_t len = static_cast<va_t>(p.at("region"));
  const va_t chunks = (len + mm::PMD_SIZE - 1) / mm::PMD_SIZE;
  const va_t per_chunk = (static_cast<va_t>(p.at("touch_pages")) + chunks - 1) / chunks;
  return std::min(per_chunk, std::min(len, mm::PMD_SIZE) / mm::PAGE_SIZE);
}

sim::task<> map_and_touch(kernel& k, unsigned cpu, va_t base, const param_values& p) {
  const va_t len = static_cast<va_t>(p.at("region"));
  co_await kern::sys_mmap(k, cpu, base, len);
  const va_t per_chunk = run_pages(p);
  va_t left = static_cast<va_t>(p.at("touch_pages"));
  for (va_t chunk = base; chunk < base + len && left; chunk += mm::PMD_SIZE)
    for (va_t i = 0; i < per_chunk && left && chunk + i * mm::PAGE_SIZE < base + len; ++i, --left)
      co_await kern::user_access(k, cpu, chunk + i * mm::PAGE_SIZE, true);
  ++k.stats.ops_completed;
}

void build(kernel& k, const param_values& p, thread_group& threads) {
  const int workers = static_cast<int>(p.at("threads"));
  const int lazy = static_cast<int>(p.at("lazy_cpus"));
  const bool gup = p.at("gup_fast") != 0;
  const int parties = workers + lazy + (gup ? 1 : 0);
  auto s = std::make_shared<shared_state>(parties);
  s->proc.mm = &k.new_mm("munmap-free-tables");
  s->proc.users = parties;
  s->workers_left = workers;
  const va_t len = static_cast<va_t>(p.at("region"));

  for (int w = 0; w < workers; ++w) {
    const va_t base = k_user_base + static_cast<va_t>(w) * k_stride;
    threads.spawn(
        static_cast<unsigned>(w), [s, p, base, len](kernel& k, unsigned cpu) -> sim::task<> {
          co_await s->proc.enter(k, cpu);
          const auto iterations = p.at("iterations");
          for (std::int64_t i = 0; i < iterations; ++i) {
            co_await map_and_touch(k, cpu, base, p);
            if (i == 0) {  // let the lazy CPUs and the GUP-fast thread in on the first round
              co_await s->ready.arrive_and_wait(k);
              co_await s->lazy_done.arrive_and_wait(k);
            }
            co_await kern::user_run(k, cpu, p.at("user_work"));
            co_await kern::sys_munmap(k, cpu, base, len);
            ++k.stats.ops_completed;
          }
          --s->workers_left;
          co_await s->proc.leave(k, cpu);
        });
  }
  for (int l = 0; l < lazy; ++l) {
    const va_t base = k_user_base + static_cast<va_t>(l % workers) * k_stride;
    threads.spawn(static_cast<unsigned>(workers + l),
                  [s, base, len](kernel& k, unsigned cpu) -> sim::task<> {
                    co_await s->proc.enter(k, cpu);
                    co_await s->ready.arrive_and_wait(k);
                    for (va_t off = 0; off < len && off < 4 * mm::PMD_SIZE; off += mm::PMD_SIZE)
                      co_await kern::user_access(k, cpu, base + off, false);
                    co_await s->lazy_done.arrive_and_wait(k);
                    co_await s->proc.leave(k, cpu);  // idle: keeps the mm loaded, lazily
                  });
  }
  if (gup) {
    const unsigned cpu_id = static_cast<unsigned>(workers + lazy);
    auto rng = std::make_shared<sim::rng>(k.cfg.seed, "munmap-free-tables/gup", 0);
    threads.spawn(cpu_id, [s, p, rng, workers, len](kernel& k, unsigned cpu) -> sim::task<> {
      co_await s->proc.enter(k, cpu);
      co_await s->ready.arrive_and_wait(k);
      co_await s->lazy_done.arrive_and_wait(k);
      // Start inside a touched run so the walk reaches live PTE tables and pages.
      const auto nr = static_cast<unsigned>(p.at("gup_pages"));
      const va_t chunks = (len + mm::PMD_SIZE - 1) / mm::PMD_SIZE;
      const va_t run = run_pages(p);
      std::vector<mm::pfn_t> pinned;
      while (s->workers_left > 0) {
        const va_t w = rng->below(static_cast<std::uint64_t>(workers));
        const va_t start = k_user_base + w * k_stride + rng->below(chunks) * mm::PMD_SIZE +
                           rng->below(run) * mm::PAGE_SIZE;
        co_await kern::gup_fast(k, cpu, start, nr, true, pinned);
        ++k.stats.ops_completed;
        kern::unpin_user_pages(k, pinned);
        co_await kern::user_run(k, cpu, p.at("gup_interval"));
      }
      co_await s->proc.leave(k, cpu);
    });
  }
}

}  // namespace

const builtin_scenario munmap_free_tables{
    "munmap-free-tables",
    "threads map, touch and unmap regions that free page tables; lazy CPUs; a GUP-fast walker",
    "seeds 000, 004; DESIGN.md scenario table",
    k_params,
    validate,
    build};

}  // namespace sd::workload
