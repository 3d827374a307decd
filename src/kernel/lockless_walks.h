// Lockless page-table walks in progress: monitor bookkeeping, not kernel state. Per CPU,
// the walk of the task context (GUP-fast, IRQs off) and the walk of a perf NMI
// (perf_get_page_size). In the kernel the NMI can interrupt GUP-fast (IRQs off does not
// mask it), and its walk must not hide the one it interrupted, which still holds its table
// pointers when the NMI returns; so each has its own record. (check offers perf NMIs only
// while a CPU runs user code, docs/check.md, so it does not explore that nesting yet.)
// Each records the mm walked and the tables the walker holds pointers to. The CPUs inside a
// walk are kept too, so that a check at an unshare looks at the walkers only, not at every
// CPU of a 4096-CPU machine (issue 12).
#pragma once
#include <algorithm>
#include <array>
#include <vector>

#include "mm/mm_types.h"

namespace sd::kern {

enum class walk_context : unsigned { task, nmi };

class lockless_walks {
 public:
  struct walk {
    const mm::mm_struct* mm = nullptr;  // null: not walking
    const char* walker = "";            // who walks, for a violation's message
    std::vector<mm::pfn_t> tables;
  };

  void resize(unsigned ncpus) { cpus_.resize(ncpus); }
  // The walker on `cpu` in `ctx` starts on `mm`, holding no table yet.
  walk& begin(unsigned cpu, walk_context ctx, const mm::mm_struct& mm, const char* walker) {
    per_cpu& p = cpus_[cpu];
    if (!p.walking()) active_.insert(std::upper_bound(active_.begin(), active_.end(), cpu), cpu);
    walk& w = p.walks[static_cast<unsigned>(ctx)];
    w.mm = &mm;
    w.walker = walker;
    w.tables.clear();
    return w;
  }
  void end(unsigned cpu, walk_context ctx) {
    per_cpu& p = cpus_[cpu];
    walk& w = p.walks[static_cast<unsigned>(ctx)];
    if (!w.mm) return;
    w.mm = nullptr;
    if (!p.walking()) active_.erase(std::lower_bound(active_.begin(), active_.end(), cpu));
  }
  // The CPUs inside a walk, ascending.
  const std::vector<unsigned>& active() const { return active_; }
  // The walks in progress on `cpu`: the task context's, then the NMI's.
  template <class F>
  void for_each_walk(unsigned cpu, F f) const {
    for (const walk& w : cpus_[cpu].walks)
      if (w.mm) f(w);
  }

 private:
  struct per_cpu {
    std::array<walk, 2> walks;  // by walk_context
    bool walking() const { return walks[0].mm || walks[1].mm; }
  };
  std::vector<per_cpu> cpus_;
  std::vector<unsigned> active_;
};

}  // namespace sd::kern
