// uffd-move (seed 003, 5094469): a thread moves N contiguous present pages with UFFDIO_MOVE,
// back and forth between two regions, while sibling threads of the process run on other
// CPUs (a GC compacting while mutators run). Without uffd-move-batch every page is its own
// flush; with it one flush per batch, a batch ending at the next PMD boundary of source or
// destination. offset_pages shifts both ranges inside their 2 MiB blocks, so e.g. 512 pages
// at offset 256 cross one PMD boundary: two batches.
#include <memory>

#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr va_t k_src = k_user_base;
constexpr va_t k_dst = k_user_base + (va_t{1} << 30);

constexpr param_decl k_params[] = {
    {"siblings", param_kind::count, "other threads of the process running user code",
     [](unsigned cpus) -> std::int64_t { return cpus > 1 ? (cpus > 4 ? 3 : cpus - 1) : 0; }, 0,
     4095},
    {"pages", param_kind::count, "pages moved per UFFDIO_MOVE",
     [](unsigned) -> std::int64_t { return 512; }, 1, 262144},
    {"offset_pages", param_kind::count, "start of both ranges inside their 2 MiB block",
     [](unsigned) -> std::int64_t { return 0; }, 0, 511},
    {"moves", param_kind::count, "UFFDIO_MOVE calls (alternating direction)",
     [](unsigned) -> std::int64_t { return 4; }, 1, 100'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"siblings"}, 1, "1 (the mover)");
}

void build(kernel& k, const param_values& p, thread_group& threads) {
  auto proc = std::make_shared<process>();
  proc->mm = &k.new_mm("uffd-move");
  const auto siblings = static_cast<unsigned>(p.at("siblings"));
  proc->users = 1;
  auto done = std::make_shared<event>();
  auto started = std::make_shared<barrier>(static_cast<int>(siblings) + 1);
  const va_t off = static_cast<va_t>(p.at("offset_pages")) * mm::PAGE_SIZE;
  const va_t len = static_cast<va_t>(p.at("pages")) * mm::PAGE_SIZE;
  const va_t span = (off + len + mm::PMD_SIZE - 1) & mm::PMD_MASK;  // whole 2 MiB blocks
  threads.spawn(0,
                [proc, p, done, started, off, len, span](kernel& k, unsigned cpu) -> sim::task<> {
                  co_await proc->enter(k, cpu);
                  co_await kern::sys_mmap(k, cpu, k_src, span);
                  co_await kern::sys_mmap(k, cpu, k_dst, span);
                  for (va_t a = k_src + off; a < k_src + off + len; a += mm::PAGE_SIZE)
                    co_await kern::user_access(k, cpu, a, true);
                  co_await started->arrive_and_wait(k);
                  for (std::int64_t i = 0; i < p.at("moves"); ++i) {
                    const bool forward = i % 2 == 0;
                    const va_t from = (forward ? k_src : k_dst) + off;
                    const va_t to = (forward ? k_dst : k_src) + off;
                    co_await timed(k, cpu, "uffd_move", kern::uffdio_move(k, cpu, to, from, len));
                    ++k.stats.ops_completed;
                  }
                  done->set(k);
                  co_await proc->leave(k, cpu);
                });
  spawn_spinners(threads, proc, done, started, 1, siblings);
}

}  // namespace

const builtin_scenario uffd_move{
    "uffd-move",
    "UFFDIO_MOVE of N contiguous present pages while sibling threads run: flushes per batch",
    "seed 003 (5094469: >40% of move_pages_pte in ptep_clear_flush; GC 45 -> 20 min)",
    k_params,
    validate,
    build};

}  // namespace sd::workload
