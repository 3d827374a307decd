// mprotect-none-rw (seed 003, c320dbb): a thread toggles a region between PROT_NONE and
// PROT_READ|PROT_WRITE and writes it after each NONE->RW (glibc malloc growing into a
// non-main heap), while sibling threads of the process run on other CPUs. RW->NONE clears
// PRESENT and must flush; NONE->RW needs no flush on x86 (old PTE not present) and, with
// arm64-pte-needs-flush, none on arm64 either. Latency of each call is recorded.
#include <memory>

#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr param_decl k_params[] = {
    {"siblings", param_kind::count,
     "other threads of the process, each running user code on its own CPU",
     [](unsigned) -> std::int64_t { return 0; }, 0, 4095},
    {"pages", param_kind::count, "pages in the toggled region",
     [](unsigned) -> std::int64_t { return 16; }, 1, 512},
    {"iterations", param_kind::count, "NONE -> RW -> write rounds",
     [](unsigned) -> std::int64_t { return 100; }, 1, 10'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  return need_cpus(cpus, p, {"siblings"}, 1, "1 (the toggling thread)");
}

void build(kernel& k, const param_values& p, thread_group& threads) {
  auto proc = std::make_shared<process>();
  proc->mm = &k.new_mm("mprotect-none-rw");
  const auto siblings = static_cast<unsigned>(p.at("siblings"));
  proc->users = 1;
  auto done = std::make_shared<event>();
  auto started = std::make_shared<barrier>(static_cast<int>(siblings) + 1);
  threads.spawn(0, [proc, p, done, started](kernel& k, unsigned cpu) -> sim::task<> {
    co_await proc->enter(k, cpu);
    const va_t len = static_cast<va_t>(p.at("pages")) * mm::PAGE_SIZE;
    co_await kern::sys_mmap(k, cpu, k_user_base, len);
    for (va_t a = k_user_base; a < k_user_base + len; a += mm::PAGE_SIZE)
      co_await kern::user_access(k, cpu, a, true);
    co_await started->arrive_and_wait(k);
    for (std::int64_t i = 0; i < p.at("iterations"); ++i) {
      co_await timed(k, cpu, "mprotect_none", kern::sys_mprotect(k, cpu, k_user_base, len, true));
      co_await timed(k, cpu, "mprotect_rw", kern::sys_mprotect(k, cpu, k_user_base, len, false));
      for (va_t a = k_user_base; a < k_user_base + len; a += mm::PAGE_SIZE)
        co_await kern::user_access(k, cpu, a, true);
      ++k.stats.ops_completed;
    }
    done->set(k);
    co_await proc->leave(k, cpu);
  });
  spawn_spinners(threads, proc, done, started, 1, siblings);
}

}  // namespace

const builtin_scenario mprotect_none_rw{
    "mprotect-none-rw",
    "toggle a region PROT_NONE <-> RW and write it; flushes skipped by pte_needs_flush",
    "seed 003 (c320dbb arm64 pte_needs_flush: NONE->RW 3.2 -> 2.85 us)",
    k_params,
    validate,
    build};

}  // namespace sd::workload
