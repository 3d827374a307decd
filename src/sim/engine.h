// The execution engine: actors (CPUs, plus helper threads such as the RCU grace-period
// kthread) run coroutine kernel paths; a scheduler picks who makes the next step.
//
// Each actor has a stack of contexts: its base program and, on top, an interrupt handler
// while one runs. A context is ready (its next step happens at the actor's clock), runs
// interruptibly (user or idle time, which a pending IRQ cuts short), or is blocked on a
// wait_queue. IRQs are taken only at step boundaries and only while the actor's IRQs are
// enabled (kernel/smp.c delivers call-function IPIs in hardirq context).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/fifo.h"
#include "sim/scheduler.h"
#include "sim/task.h"
#include "sim/time.h"

namespace sd::sim {

class engine;

// Actors blocked until another actor wakes them, in the order they blocked. A woken context
// re-checks its condition (completions), unless the waker handed it what it waited for: the
// lock of an rw_semaphore or spinlock (mm/locks.h) is handed over with the wake.
class wait_queue {
 public:
  bool empty() const { return waiters_.empty(); }

 private:
  friend class engine;
  struct waiter {
    actor_id actor;
    std::size_t depth;
  };
  fifo<waiter> waiters_;
};

class engine {
 public:
  using irq_entry_fn = std::function<task<>(actor_id)>;
  // Whether actor a is held off at time t, until when, and the span around t in which it is
  // not (sim::stall_answer). Models a hypervisor descheduling a vCPU: no steps and no
  // interrupts until then.
  using stall_fn = std::function<stall_answer(actor_id a, sim_time t)>;

  explicit engine(scheduler& s)
      : sched_(s), timed_(s.uses_time()), heap_(dynamic_cast<timed_scheduler*>(&s)) {}
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  actor_id add_actor();
  // Room for `n` actors, so that adding them one by one does not move the earlier ones.
  void reserve_actors(std::size_t n) { actors_.reserve(n); }
  std::size_t actors() const { return actors_.size(); }
  // Gives an actor its base program; it starts at `at`.
  void start(actor_id a, task<> program, sim_time at = 0);
  void set_irq_entry(irq_entry_fn f) { irq_entry_ = std::move(f); }
  void set_stall(stall_fn f) { stall_ = std::move(f); }

  // Interrupt line of an actor.
  void set_irqs_enabled(actor_id a, bool on);
  bool irqs_enabled(actor_id a) const { return actors_[a].irqs_on; }
  void raise_irq(actor_id a, sim_time arrives_at);
  void clear_irq(actor_id a);

  struct step_awaiter {
    engine& e;
    sim_time cost;
    bool interruptible;
    const char* label = nullptr;  // what the step does (a cost parameter's name), for check
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { e.suspend_step(h, cost, interruptible, label); }
    void await_resume() const noexcept {}
  };
  struct wait_awaiter {
    engine& e;
    wait_queue& q;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { e.suspend_wait(h, q); }
    void await_resume() const noexcept {}
  };
  // The code after `co_await step(c)` is one step: another actor may run before it, and it
  // is charged `c` nanoseconds.
  step_awaiter step(sim_time cost, const char* label = nullptr) {
    return {*this, cost, false, label};
  }
  // Time spent in user mode or idle with IRQs on: an IRQ arriving meanwhile is handled at
  // its arrival and the remaining time continues afterwards.
  step_awaiter run_interruptible(sim_time duration) { return {*this, duration, true}; }
  wait_awaiter wait(wait_queue& q) { return {*this, q}; }
  void wake_one(wait_queue& q);
  void wake_all(wait_queue& q);

  // Runs until no actor is eligible. Throws std::runtime_error past `max_steps`.
  void run(std::uint64_t max_steps);
  // Called every 65,536 steps of run() with the steps so far and the simulated time (a
  // progress indicator; it must not touch the model).
  void set_progress(std::function<void(std::uint64_t, sim_time)> f) { progress_ = std::move(f); }

  // Whether a timed scheduler picks who moves (simulate), not an explorer (check).
  bool timed() const { return timed_; }
  // Time at which the current step began, and at which it ends.
  sim_time now() const { return now_; }
  sim_time step_end() const { return actors_[current_].clock; }
  actor_id current() const { return current_; }
  sim_time clock(actor_id a) const { return actors_[a].clock; }
  std::uint64_t steps() const { return steps_; }
  // Actors whose programs never finished (blocked forever): a model deadlock.
  std::vector<actor_id> stuck_actors() const;

  // Exploration (check). The explorer, not the scheduler, decides who moves next and
  // whether a pending IRQ is taken; simulated time plays no part in what is enabled.
  // An actor can step when its top context is ready or in an interruptible run (ending the
  // run is one step); it can take an IRQ at any step boundary with IRQs enabled.
  bool can_step(actor_id a) const;
  bool can_take_irq(actor_id a) const;
  bool finished(actor_id a) const { return actors_[a].stack.empty(); }
  // Performs that step (or the IRQ entry, up to the handler's first step). `at` is the
  // logical time the step starts (check numbers steps), so traces show the interleaving.
  void explore_step(actor_id a, bool take_irq, sim_time at);
  // A non-maskable interrupt at a step boundary of an actor that can step: `handler` runs on
  // top of what it was doing, whatever its IRQ state, up to its first step.
  void explore_nmi(actor_id a, task<> handler, sim_time at);
  // Destroys every actor's suspended paths, innermost first (an explored execution that
  // stopped early), while what they refer to still exists.
  void destroy_contexts();
  // The label of the step actor a makes when it next moves (null: none given).
  const char* next_label(actor_id a) const;

 private:
  enum class status : std::uint8_t { ready, interruptible, interrupted, blocked };
  struct context {
    task<> owner;
    std::coroutine_handle<> resume_point;
    status st = status::ready;
    sim_time cost = 0;            // of the pending step (ready)
    sim_time run_start = 0;       // interruptible: when the run began
    sim_time remaining = 0;       // interrupted: run time still to go
    const char* label = nullptr;  // of the pending step
  };
  struct actor {
    std::vector<context> stack;
    sim_time clock = 0;  // ready: time of the next step; interruptible: end of the run
    bool irqs_on = true;
    bool irq_pending = false;
    sim_time irq_at = 0;
    // The stall function's last answer: not held in [runs_from, runs_to), so a step in it
    // need not ask (every step of a vCPU would otherwise).
    sim_time runs_from = 0;
    sim_time runs_to = 0;
  };

  void suspend_step(std::coroutine_handle<> h, sim_time cost, bool interruptible,
                    const char* label);
  void suspend_wait(std::coroutine_handle<> h, wait_queue& q);
  // When actor a can next move (a step, or taking a pending IRQ); `never` if it cannot.
  // A plain time, not an optional: this runs after every step, and an optional returned
  // through memory cost a store-forwarding stall each time (perf, 18% of a run).
  sim_time eligible_time(const actor& a) const;
  std::optional<sim_time> eligible_at(const actor& a) const;
  bool takes_irq(const actor& a, sim_time t) const;
  void pick(actor_id id);
  void push_context(actor_id id, task<> t);
  void begin_explored(actor_id id, sim_time at);
  void enter_handler(actor_id id, task<> handler);
  void resume_top(actor_id id);
  void after_resume(actor_id id);
  void reschedule(actor_id id);
  void wake(const wait_queue::waiter& w);

  scheduler& sched_;
  bool timed_;  // sched_.uses_time(), asked once: reschedule is on every step
  // sched_ when it is the timed heap (simulate): called directly, so the update that follows
  // every step is inlined instead of a virtual call.
  timed_scheduler* heap_;
  std::vector<actor> actors_;
  irq_entry_fn irq_entry_;
  stall_fn stall_;
  std::function<void(std::uint64_t, sim_time)> progress_;
  sim_time now_ = 0;
  actor_id current_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace sd::sim
