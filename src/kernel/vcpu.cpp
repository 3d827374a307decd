#include "kernel/vcpu.h"

#include <algorithm>

namespace sd::kern {

vcpu_preemption::vcpu_preemption(unsigned cpus, std::uint64_t seed, sim::sim_time interval,
                                 sim::sim_time duration)
    : windows_(cpus), interval_(interval), duration_(duration) {
  rng_.reserve(cpus);
  for (unsigned c = 0; c < cpus; ++c) rng_.emplace_back(seed, "vcpu-preempt", c);
}

vcpu_preemption vcpu_preemption::explicit_choices(unsigned cpus) {
  vcpu_preemption v;
  v.held_.assign(cpus, false);
  return v;
}

sim::sim_time vcpu_preemption::preempted_until(unsigned cpu, sim::sim_time t) {
  if (is_explicit()) return preempted(cpu) ? sim::never : 0;
  if (!enabled() || cpu >= windows_.size()) return 0;
  auto& w = windows_[cpu];
  // Gaps are uniform in [interval/2, 3*interval/2): mean `interval`.
  while (w.empty() || w.back().end <= t) {
    const sim::sim_time from = w.empty() ? 0 : w.back().end;
    const auto gap = interval_ / 2 + static_cast<sim::sim_time>(
                                         rng_[cpu].below(static_cast<std::uint64_t>(interval_)));
    w.push_back({from + gap, from + gap + duration_});
  }
  auto it = std::upper_bound(w.begin(), w.end(), t,
                             [](sim::sim_time v, const window& x) { return v < x.start; });
  if (it == w.begin()) return 0;
  --it;
  return t < it->end ? it->end : 0;
}

}  // namespace sd::kern
