// tlb-flush-threads (anchors: will-it-scale tlb_flush2_threads): every thread of one process
// writes its own page and madvise(MADV_DONTNEED)s it, in a loop. Each DONTNEED zaps one
// page and flushes it on every CPU running the mm: on x86 an IPI to each other thread.
// will-it-scale runs each test for a fixed time and reports loops per second; so does this
// scenario (`duration`, with `iterations` as a cap). With N threads a loop waits for N-1
// flush callbacks, so a fixed count of loops per thread is N^2 work (minutes of run at
// 4096 CPUs), while a fixed time is what the benchmark measures and grows as N.
#include <memory>

#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr param_decl k_params[] = {
    {"threads", param_kind::count, "threads, one per CPU from CPU 0",
     [](unsigned cpus) -> std::int64_t { return cpus; }, 1, 4096},
    {"iterations", param_kind::count, "write + MADV_DONTNEED loops per thread, at most",
     [](unsigned) -> std::int64_t { return 100; }, 1, 10'000'000},
    {"duration", param_kind::time, "simulated time after which no thread starts another loop",
     [](unsigned) -> std::int64_t { return 2'000'000; }, 1'000, 60'000'000'000},
    {"user_work", param_kind::time, "user-mode time per loop besides the write",
     [](unsigned) -> std::int64_t { return 1'000; }, 0, 1'000'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"threads"});
}

void build(kernel& k, const param_values& p, thread_group& threads) {
  auto proc = std::make_shared<process>();
  proc->mm = &k.new_mm("tlb-flush-threads");
  const auto n = static_cast<unsigned>(p.at("threads"));
  proc->users = static_cast<int>(n);
  for (unsigned t = 0; t < n; ++t) {
    threads.spawn(t, [proc, p, t](kernel& k, unsigned cpu) -> sim::task<> {
      co_await proc->enter(k, cpu);
      const va_t page = k_user_base + va_t{t} * mm::PMD_SIZE;  // own PTE table per thread
      co_await kern::sys_mmap(k, cpu, page, mm::PAGE_SIZE);
      const std::int64_t iterations = p.at("iterations");
      const sim::sim_time duration = p.at("duration");
      const sim::sim_time user_work = p.at("user_work");
      for (std::int64_t i = 0; i < iterations && k.eng.now() < duration; ++i) {
        co_await timed(k, cpu, "loop", [&]() -> sim::task<> {
          co_await kern::user_access(k, cpu, page, true);
          co_await kern::sys_madvise_dontneed(k, cpu, page, mm::PAGE_SIZE);
          co_await kern::user_run(k, cpu, user_work);
        }());
        ++k.stats.ops_completed;
      }
      co_await proc->leave(k, cpu);
    });
  }
}

}  // namespace

const builtin_scenario tlb_flush_threads{
    "tlb-flush-threads",
    "threads write a page and MADV_DONTNEED it in a loop (will-it-scale tlb_flush2_threads)",
    "anchors.md (will-it-scale tlb_flush2, INVLPGB 527k -> 1157k loops/s); DESIGN.md",
    k_params,
    validate,
    build};

}  // namespace sd::workload
