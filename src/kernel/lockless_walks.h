// Lockless page-table walks in progress (GUP-fast, the perf NMI's page-size walk): monitor
// bookkeeping, not kernel state. Per CPU, the mm walked and the tables the walker holds
// pointers to; and which CPUs are inside a walk, so that a check at an unshare looks at
// the walkers only, not at every CPU of a 4096-CPU machine (issue 12).
#pragma once
#include <algorithm>
#include <vector>

#include "mm/mm_types.h"

namespace sd::kern {

class lockless_walks {
 public:
  struct walk {
    const mm::mm_struct* mm = nullptr;  // null: not walking
    std::vector<mm::pfn_t> tables;
  };

  void resize(unsigned ncpus) { walks_.resize(ncpus); }
  // The walker on `cpu` starts on `mm` holding no table yet. A walk started while one is
  // in progress on the CPU (the perf NMI inside GUP-fast) replaces it.
  walk& begin(unsigned cpu, const mm::mm_struct& mm) {
    walk& w = walks_[cpu];
    if (!w.mm) active_.insert(std::upper_bound(active_.begin(), active_.end(), cpu), cpu);
    w.mm = &mm;
    w.tables.clear();
    return w;
  }
  void end(unsigned cpu) {
    walk& w = walks_[cpu];
    if (!w.mm) return;  // the replacing walk ended it already
    w.mm = nullptr;
    active_.erase(std::lower_bound(active_.begin(), active_.end(), cpu));
  }
  // The CPUs inside a walk, ascending.
  const std::vector<unsigned>& active() const { return active_; }
  const walk& operator[](unsigned cpu) const { return walks_[cpu]; }

 private:
  std::vector<walk> walks_;
  std::vector<unsigned> active_;
};

}  // namespace sd::kern
