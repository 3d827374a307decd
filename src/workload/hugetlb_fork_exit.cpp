// hugetlb-fork-exit (seed 003's IPI storm, Uschakow 2025; seeds 000/001): a parent maps a
// shared hugetlb file of `tables` GiB (one PMD table per GiB) and populates it; then it forks
// children that touch a few pages and exit. fork copies nothing of the shared mapping
// (vma_needs_copy); a child shares a window's PMD table when it faults there, and its exit
// unshares the tables it shares (huge_pmd_unshare):
//   v6.17 (1013af4):     one sync broadcast per unshared table, every exit;
//   v7.0 (8ce720d):      one flush and at most one sync per exit, none unless the exit
//                        left a table exclusively owned (serial children: every exit does;
//                        `concurrent` children alive together: only the last of them);
//   v7.0-sync-skip:      on native x86 the sync is implied by the flush.
//
//   CPU 0                       the parent
//   CPUs 1 .. concurrent        child slots; slot s runs children s, s + concurrent, ...
#include <memory>

#include "sim/rng.h"
#include "workload/builtin.h"
#include "workload/process.h"

namespace sd::workload {

namespace {

using kern::kernel;
using mm::va_t;

constexpr param_decl k_params[] = {
    {"tables", param_kind::count, "GiB of shared hugetlb mapping = PMD tables shared per child",
     [](unsigned) -> std::int64_t { return 4; }, 1, 65536},
    {"children", param_kind::count, "children forked (a multiple of concurrent)",
     [](unsigned) -> std::int64_t { return 8; }, 1, 100'000},
    {"concurrent", param_kind::count, "children alive at once (1 = one after another)",
     [](unsigned) -> std::int64_t { return 1; }, 1, 4095},
    {"populate", param_kind::count, "2 MiB pages the parent touches per GiB before forking",
     [](unsigned) -> std::int64_t { return 4; }, 1, 512},
    {"touch", param_kind::count, "random 2 MiB pages each child reads before exiting",
     [](unsigned) -> std::int64_t { return 16; }, 0, 1'000'000},
};

param_problem validate(unsigned cpus, const param_values& p) {
  if (cpus < 2) return {"needs 2 CPUs (the parent and a child)", {"cpus"}};
  if (auto e = need_cpus(cpus, p, {"concurrent"}, 1, "1 (the parent)")) return e;
  if (p.at("children") % p.at("concurrent") != 0)
    return {"children must be a multiple of concurrent", {"children", "concurrent"}};
  return {};
}

struct shared {
  process parent;
  std::vector<mm::mm_struct*> child_mm;         // by child index
  sequence forked;                              // children forked so far
  sequence exited;                              // children exited so far
  std::vector<std::unique_ptr<barrier>> batch;  // children of a batch meet before exiting
};

void build(kernel& k, const param_values& p, thread_group& threads) {
  auto s = std::make_shared<shared>();
  s->parent.mm = &k.new_mm("hugetlb-parent");
  s->parent.users = 1;
  mm::address_space& file = k.new_file();
  const auto tables = static_cast<va_t>(p.at("tables"));
  const auto children = p.at("children");
  const auto conc = p.at("concurrent");
  for (std::int64_t b = 0; b < children / conc; ++b)
    s->batch.push_back(std::make_unique<barrier>(static_cast<int>(conc)));
  s->child_mm.resize(static_cast<std::size_t>(children));
  const va_t len = tables * mm::PUD_SIZE;

  threads.spawn(
      0, [s, p, &file, len, tables, children, conc](kernel& k, unsigned cpu) -> sim::task<> {
        co_await s->parent.enter(k, cpu);
        co_await kern::sys_mmap_hugetlb(k, cpu, k_user_base, len, file, 0);
        for (va_t g = 0; g < tables; ++g)
          for (std::int64_t i = 0; i < p.at("populate"); ++i)
            co_await kern::user_access(
                k, cpu, k_user_base + g * mm::PUD_SIZE + static_cast<va_t>(i) * mm::PMD_SIZE, true);
        for (std::int64_t c = 0; c < children; ++c) {
          // A batch starts when the previous one has exited.
          co_await s->exited.wait_for(k, static_cast<std::uint64_t>(c - c % conc));
          mm::mm_struct& child = k.new_mm("hugetlb-child");
          s->child_mm[static_cast<std::size_t>(c)] = &child;
          co_await timed(k, cpu, "fork", kern::sys_fork(k, cpu, child));
          s->forked.advance(k);
        }
        co_await s->exited.wait_for(k, static_cast<std::uint64_t>(children));
        co_await s->parent.leave(k, cpu);
      });
  for (std::int64_t slot = 0; slot < conc; ++slot) {
    auto rng = std::make_shared<sim::rng>(k.cfg.seed, "hugetlb-fork-exit/child", slot);
    threads.spawn(
        static_cast<unsigned>(1 + slot),
        [s, p, rng, slot, len, children, conc](kernel& k, unsigned cpu) -> sim::task<> {
          for (std::int64_t c = slot; c < children; c += conc) {
            co_await s->forked.wait_for(k, static_cast<std::uint64_t>(c) + 1);
            co_await kern::switch_to_task(k, cpu, *s->child_mm[static_cast<std::size_t>(c)]);
            for (std::int64_t i = 0; i < p.at("touch"); ++i)
              co_await kern::user_access(
                  k, cpu, k_user_base + rng->below(len / mm::PMD_SIZE) * mm::PMD_SIZE, false);
            co_await s->batch[static_cast<std::size_t>(c / conc)]->arrive_and_wait(k);
            co_await timed(k, cpu, "child_exit", kern::mmput_last(k, cpu));
            co_await kern::switch_to_idle(k, cpu);
            ++k.stats.ops_completed;
            s->exited.advance(k);
          }
        });
  }
}

}  // namespace

const builtin_scenario hugetlb_fork_exit{
    "hugetlb-fork-exit",
    "children of a parent with a shared hugetlb mapping share the PMD tables of the windows they "
    "touch, then exit",
    "seed 003 (8ce720d: fork/exit x4 with per-table IPIs on 196 CPUs), seeds 000/001",
    k_params,
    validate,
    build};

}  // namespace sd::workload
