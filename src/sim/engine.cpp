#include "sim/engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sd::sim {

actor_id engine::add_actor() {
  actors_.emplace_back();
  sched_.resize(actors_.size());
  return static_cast<actor_id>(actors_.size() - 1);
}

void engine::start(actor_id a, task<> program, sim_time at) {
  actors_[a].clock = std::max(actors_[a].clock, at);
  push_context(a, std::move(program));
  // Prime: run the local code before the first step, so that each step is one decision.
  const actor_id saved = current_;
  const sim_time saved_now = now_;
  current_ = a;
  now_ = actors_[a].clock;
  resume_top(a);
  current_ = saved;
  now_ = saved_now;
}

void engine::set_irqs_enabled(actor_id a, bool on) {
  actors_[a].irqs_on = on;
  if (a != current_) reschedule(a);
}

void engine::raise_irq(actor_id a, sim_time arrives_at) {
  actor& x = actors_[a];
  if (!x.irq_pending || arrives_at < x.irq_at) x.irq_at = arrives_at;
  x.irq_pending = true;
  if (a != current_) reschedule(a);
}

void engine::clear_irq(actor_id a) {
  actors_[a].irq_pending = false;
}

void engine::suspend_step(std::coroutine_handle<> h, sim_time cost, bool interruptible,
                          const char* label) {
  actor& a = actors_[current_];
  context& c = a.stack.back();
  c.resume_point = h;
  c.label = interruptible ? "run (user or idle, IRQs on)" : label;
  if (interruptible) {
    c.st = status::interruptible;
    c.run_start = a.clock;
    a.clock = later(a.clock, cost);  // the run ends here unless an IRQ cuts in
    c.cost = 0;
  } else {
    c.st = status::ready;
    c.cost = cost;
  }
}

void engine::suspend_wait(std::coroutine_handle<> h, wait_queue& q) {
  actor& a = actors_[current_];
  context& c = a.stack.back();
  c.resume_point = h;
  c.label = "wake up";
  c.st = status::blocked;
  c.run_start = a.clock;
  c.cost = 0;
  q.waiters_.push_back({current_, a.stack.size() - 1});
}

void engine::wake(const wait_queue::waiter& w) {
  actor& a = actors_[w.actor];
  context& c = a.stack[w.depth];
  if (c.st != status::blocked) return;
  c.st = status::ready;
  if (w.depth + 1 == a.stack.size()) {
    a.clock = std::max(a.clock, step_end());
    if (w.actor != current_) reschedule(w.actor);
  }
}

void engine::wake_one(wait_queue& q) {
  if (q.waiters_.empty()) return;
  auto w = q.waiters_.front();
  q.waiters_.pop_front();
  wake(w);
}

void engine::wake_all(wait_queue& q) {
  for (const auto& w : q.waiters_) wake(w);  // wake() only reschedules: q stays as it is
  q.waiters_.clear();
}

namespace {
[[gnu::cold, noreturn]] void interrupted_on_top() {
  throw std::logic_error("engine: interrupted context on top of the stack");
}
}  // namespace

inline sim_time engine::eligible_time(const actor& a) const {
  const bool irq = a.irq_pending && a.irqs_on;
  if (a.stack.empty()) return irq ? std::max(a.irq_at, a.clock) : never;
  const context& top = a.stack.back();
  switch (top.st) {
    case status::ready:
      return a.clock;
    case status::interruptible:
      if (irq && a.irq_at < a.clock) return std::max(a.irq_at, top.run_start);
      return a.clock;
    case status::blocked:
      return irq ? std::max(a.irq_at, top.run_start) : never;
    case status::interrupted:
      break;  // never on top: only the context below an IRQ handler is interrupted
  }
  interrupted_on_top();
}

std::optional<sim_time> engine::eligible_at(const actor& a) const {
  const sim_time t = eligible_time(a);
  return t == never ? std::nullopt : std::optional(t);
}

void engine::reschedule(actor_id id) {
  if (heap_)
    heap_->update_time(id, eligible_time(actors_[id]));
  else if (timed_)
    sched_.update(id, eligible_at(actors_[id]));
}

bool engine::takes_irq(const actor& a, sim_time t) const {
  if (!a.irq_pending || !a.irqs_on || a.irq_at > t || !irq_entry_) return false;
  if (a.stack.empty()) return true;
  const context& top = a.stack.back();
  if (top.st == status::interruptible) return a.irq_at < a.clock;
  return true;
}

void engine::push_context(actor_id id, task<> t) {
  actor& a = actors_[id];
  context c;
  c.resume_point = t.handle();
  c.owner = std::move(t);
  a.stack.push_back(std::move(c));
}

void engine::resume_top(actor_id id) {
  // The handle may be resumed only once per suspension; copy it before resuming.
  std::coroutine_handle<> h = actors_[id].stack.back().resume_point;
  h.resume();
  after_resume(id);
}

void engine::after_resume(actor_id id) {
  actor& a = actors_[id];
  while (!a.stack.empty() && a.stack.back().owner.done()) {
    a.stack.back().owner.rethrow_if_failed();
    a.stack.pop_back();
    if (a.stack.empty()) break;
    context& below = a.stack.back();
    if (below.st == status::interrupted) {
      below.st = status::interruptible;
      below.run_start = a.clock;
      a.clock = later(a.clock, below.remaining);
      below.remaining = 0;
    }
  }
  reschedule(id);
}

void engine::pick(actor_id id) {
  actor& a = actors_[id];
  const sim_time t = eligible_time(a);
  now_ = t;
  current_ = id;
  if (stall_ && !(t >= a.runs_from && t < a.runs_to)) {
    const stall_answer s = stall_(id, t);
    a.runs_from = s.runs_from;
    a.runs_to = s.runs_to;
    if (const sim_time until = s.until; until > t) {
      if (takes_irq(a, t))
        a.irq_at = until;  // delivered when it runs again
      else if (!a.stack.empty() && a.stack.back().st != status::blocked)
        a.clock = until;  // the next step (or the end of a user run) waits
      reschedule(id);
      return;
    }
  }
  if (takes_irq(a, t)) {
    if (!a.stack.empty() && a.stack.back().st == status::interruptible) {
      a.stack.back().remaining = a.clock - t;
      a.stack.back().st = status::interrupted;
    }
    a.clock = t;
    push_context(id, irq_entry_(id));
    resume_top(id);  // runs the entry code up to its first step
    return;
  }
  context& top = a.stack.back();
  if (top.st == status::ready) {
    a.clock = later(t, top.cost);
  }  // interruptible: the run ended at a.clock == t
  top.st = status::ready;
  top.cost = 0;
  resume_top(id);
}

void engine::run(std::uint64_t max_steps) {
  while (auto id = heap_ ? heap_->next() : sched_.next()) {
    if (++steps_ > max_steps)
      throw std::runtime_error("simulation did not finish within " + std::to_string(max_steps) +
                               " steps (livelock in the model or workload too large)");
    pick(*id);
    if (progress_ && (steps_ & 0xFFFF) == 0) progress_(steps_, now_);
  }
}

bool engine::can_step(actor_id id) const {
  const actor& a = actors_[id];
  if (a.stack.empty()) return false;
  const status st = a.stack.back().st;
  return st == status::ready || st == status::interruptible;
}

bool engine::can_take_irq(actor_id id) const {
  const actor& a = actors_[id];
  return a.irq_pending && a.irqs_on && irq_entry_;
}

const char* engine::next_label(actor_id id) const {
  const actor& a = actors_[id];
  return a.stack.empty() ? nullptr : a.stack.back().label;
}

// Exploration: actor `id` moves at logical time `at`.
void engine::begin_explored(actor_id id, sim_time at) {
  actor& a = actors_[id];
  a.clock = std::max(a.clock, at);
  now_ = a.clock;
  current_ = id;
  ++steps_;
}

// An interrupt handler (IRQ or NMI) starts on top of what the actor was doing, up to its
// first step; an interrupted user/idle run resumes after it, still as one step.
void engine::enter_handler(actor_id id, task<> handler) {
  actor& a = actors_[id];
  if (!a.stack.empty() && a.stack.back().st == status::interruptible) {
    a.stack.back().remaining = 0;
    a.stack.back().st = status::interrupted;
  }
  push_context(id, std::move(handler));
  resume_top(id);
}

void engine::explore_step(actor_id id, bool take_irq, sim_time at) {
  if (take_irq ? !can_take_irq(id) : !can_step(id))
    throw std::logic_error("engine: explored choice is not enabled");
  begin_explored(id, at);
  if (take_irq) {
    enter_handler(id, irq_entry_(id));
    return;
  }
  actor& a = actors_[id];
  context& top = a.stack.back();
  if (top.st == status::ready) a.clock += top.cost;
  top.st = status::ready;
  top.cost = 0;
  resume_top(id);
}

void engine::explore_nmi(actor_id id, task<> handler, sim_time at) {
  if (!can_step(id)) throw std::logic_error("engine: NMI on an actor that cannot step");
  begin_explored(id, at);
  enter_handler(id, std::move(handler));
}

void engine::destroy_contexts() {
  for (auto& a : actors_)
    while (!a.stack.empty()) a.stack.pop_back();
}

std::vector<actor_id> engine::stuck_actors() const {
  std::vector<actor_id> out;
  for (actor_id i = 0; i < actors_.size(); ++i)
    if (!actors_[i].stack.empty()) out.push_back(i);
  return out;
}

}  // namespace sd::sim
