#include "workload/collapse_workload.h"

#include "sim/rng.h"

namespace sd::workload {

namespace {
using kern::kernel;
using mm::va_t;

// The process's threads (and the GUP-fast thread) touch their pages only during the last
// k_busy_before of each khugepaged sleep and while it collapses; over the rest of a longer
// sleep they wait in user mode (IRQs on). What they do then cannot change what the next
// collapse flushes, and stepping through it made run time grow with scan_sleep (seconds of
// simulated sleep, minutes of run). Equal to the default scan_sleep: default runs are the
// same as with touching throughout.
constexpr sim::sim_time k_busy_before = 100'000;
}  // namespace

void spawn_collapse_workload(kernel& k, thread_group& threads, const collapse_setup& s) {
  auto proc = std::make_shared<process>();
  proc->mm = &k.new_mm("khugepaged-collapse");
  const int walkers = s.gup_fast ? 1 : 0;
  proc->users = static_cast<int>(s.threads) + walkers;
  auto ready = std::make_shared<barrier>(static_cast<int>(s.threads) + walkers + 1);
  const va_t len = static_cast<va_t>(s.ranges) * mm::PMD_SIZE;
  const va_t pages = len / mm::PAGE_SIZE;
  auto mapped = std::make_shared<sequence>();
  auto busy = std::make_shared<event>();  // set while the threads touch their pages
  busy->set(k);
  auto done = s.done;

  for (unsigned t = 0; t < s.threads; ++t) {
    auto rng = std::make_shared<sim::rng>(k.cfg.seed, "collapse/thread", t);
    threads.spawn(s.first_cpu + t, [=](kernel& k, unsigned cpu) -> sim::task<> {
      co_await proc->enter(k, cpu);
      if (t == 0) {
        co_await kern::sys_mmap(k, cpu, k_user_base, len);
        mapped->advance(k);
      }
      co_await mapped->wait_for(k, 1);
      for (va_t i = t; i < pages; i += s.threads)  // each thread populates its share
        co_await kern::user_access(k, cpu, k_user_base + i * mm::PAGE_SIZE, true);
      co_await ready->arrive_and_wait(k);
      while (!done->is_set()) {
        k.cpus[cpu].mode = hw::cpu_mode::user;
        co_await busy->wait(k);
        if (done->is_set()) break;
        co_await kern::user_run(k, cpu, 5'000);
        co_await kern::user_access(k, cpu, k_user_base + rng->below(pages) * mm::PAGE_SIZE, false);
      }
      co_await proc->leave(k, cpu);
    });
  }
  if (s.gup_fast) {
    auto rng = std::make_shared<sim::rng>(k.cfg.seed, "collapse/gup", 0);
    threads.spawn(s.first_cpu + s.threads, [=](kernel& k, unsigned cpu) -> sim::task<> {
      co_await proc->enter(k, cpu);
      co_await ready->arrive_and_wait(k);
      std::vector<mm::pfn_t> pinned;
      while (!done->is_set()) {
        k.cpus[cpu].mode = hw::cpu_mode::user;
        co_await busy->wait(k);
        if (done->is_set()) break;
        co_await kern::gup_fast(k, cpu, k_user_base + rng->below(pages - 16) * mm::PAGE_SIZE, 16,
                                false, pinned);
        kern::unpin_user_pages(k, pinned);
        ++k.stats.ops_completed;
        co_await kern::user_run(k, cpu, 20'000);
      }
      co_await proc->leave(k, cpu);
    });
  }
  threads.spawn(s.khugepaged_cpu, [=](kernel& k, unsigned cpu) -> sim::task<> {
    co_await ready->arrive_and_wait(k);
    for (std::int64_t r = 0; r < s.ranges; ++r) {
      // khugepaged_scan_sleep_millisecs; the threads rest until its last k_busy_before.
      if (s.scan_sleep > k_busy_before) {
        busy->clear();
        co_await kern::idle_run(k, cpu, s.scan_sleep - k_busy_before);
        busy->set(k);
        co_await kern::idle_run(k, cpu, k_busy_before);
      } else {
        co_await kern::idle_run(k, cpu, s.scan_sleep);
      }
      co_await timed(k, cpu, "collapse", [&]() -> sim::task<> {
        co_await kern::collapse_huge_page(k, cpu, *proc->mm,
                                          k_user_base + static_cast<va_t>(r) * mm::PMD_SIZE);
      }());
      ++k.stats.ops_completed;
    }
    k.cpus[cpu].mode = hw::cpu_mode::idle;
    done->set(k);
    busy->set(k);
  });
}

}  // namespace sd::workload
