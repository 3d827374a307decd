#include "kernel/vcpu.h"

#include <algorithm>

namespace sd::kern {

vcpu_preemption::vcpu_preemption(unsigned cpus, std::uint64_t seed, sim::sim_time interval,
                                 sim::sim_time duration)
    : interval_(interval), duration_(duration) {
  const sim::rng_family streams(seed, "vcpu-preempt");
  rng_.reserve(cpus);
  for (unsigned c = 0; c < cpus; ++c) rng_.push_back(streams[c]);
  if (interval_ > 0) {
    cursor_.reserve(cpus);
    for (unsigned c = 0; c < cpus; ++c) {
      const sim::sim_time first = gap(c, 0);
      cursor_.push_back({0, first, sim::later(first, duration_ + gap(c, 1))});
    }
  }
}

sim::sim_time vcpu_preemption::gap(unsigned cpu, std::uint64_t i) const {
  return interval_ / 2 +
         static_cast<sim::sim_time>(rng_[cpu].below_at(i, static_cast<std::uint64_t>(interval_)));
}

vcpu_preemption vcpu_preemption::explicit_choices(unsigned cpus) {
  vcpu_preemption v;
  v.held_.assign(cpus, false);
  return v;
}

sim::stall_answer vcpu_preemption::stall_at(unsigned cpu, sim::sim_time t) {
  if (is_explicit()) {
    reads_ |= cpu < 64 ? std::uint64_t{1} << cpu : ~std::uint64_t{0};
    return {preempted(cpu) ? sim::never : 0, 0, 0};
  }
  if (!enabled() || cpu >= cursor_.size()) return {0, 0, sim::never};
  // Windows: start(0) = gap(0); start(i+1) = start(i) + duration + gap(i+1). Move the
  // cursor to the last window starting at or before t (queries come from every CPU's
  // clock, so t can go back as well as forward).
  cursor& c = cursor_[cpu];
  if (c.next <= t) {
    // Forward: window index+1 starts at c.next, already drawn; draw only the windows t
    // passes and the one after it.
    sim::sim_time next = c.next;
    do {
      c.start = next;
      ++c.index;
      next = sim::later(c.start, duration_ + gap(cpu, c.index + 1));
    } while (next <= t);
    c.next = next;
  } else {
    // Backward: each step back re-draws the gap it crosses; the window left becomes next.
    while (c.index > 0 && c.start > t) {
      c.next = c.start;
      c.start = c.start - duration_ - gap(cpu, c.index);
      --c.index;
    }
  }
  if (c.start > t) return {0, 0, c.start};  // before the first window
  const sim::sim_time end = c.start + duration_;
  if (t < end) return {end, 0, 0};
  return {0, end, c.next};  // between this window and the next
}

}  // namespace sd::kern
