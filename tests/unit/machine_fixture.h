// Helpers to build a small machine and run hand-written per-CPU programs on it.
#pragma once
#include <deque>
#include <functional>
#include <memory>

#include "kernel/kernel.h"
#include "kernel/paths.h"

namespace sd::test {

struct machine {
  explicit machine(const std::string& arch, unsigned cpus,
                   patches::knob_set knobs = patches::knob_set{}) {
    kern::machine_config cfg;
    cfg.arch = arch;
    cfg.cpus = cpus;
    cfg.costs = cost::cost_model(arch == "arm64" ? cost::preset::arm64_server
                                                 : cost::preset::x86_server);
    cfg.knobs = knobs;
    k = std::make_unique<kern::kernel>(cfg, sched);
    k->rcu.set_done(k->eng, [this] { return live == 0; });
  }
  machine(const machine&) = delete;  // the kernel refers to sched
  machine& operator=(const machine&) = delete;
  // Starts a program on a CPU; the run ends when all programs and RCU callbacks are done.
  void start(unsigned cpu, std::function<sim::task<>(kern::kernel&, unsigned)> body) {
    ++live;
    bodies.push_back(std::move(body));
    k->eng.start(cpu, wrap(bodies.size() - 1, cpu));
  }
  void run() { k->eng.run(50'000'000); }

  sim::timed_scheduler sched;
  std::unique_ptr<kern::kernel> k;
  int live = 0;
  // A deque: coroutine lambdas refer to their closure, which must never move.
  std::deque<std::function<sim::task<>(kern::kernel&, unsigned)>> bodies;

 private:
  sim::task<> wrap(std::size_t i, unsigned cpu) {
    co_await bodies[i](*k, cpu);
    if (--live == 0) k->rcu.poke(k->eng);
  }
};

inline constexpr mm::va_t GiB = mm::va_t{1} << 30;

}  // namespace sd::test
