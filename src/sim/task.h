// task<T>: the coroutine type every modeled kernel path returns.
//
// A path is written as straight-line code; `co_await other_path(...)` calls a sub-path
// (symmetric transfer, no scheduler round trip) and `co_await eng.step(cost)` marks a point
// where another CPU may observe or interleave. Tasks start suspended: the engine primes a
// top-level task by resuming it once, and a parent starts a child by awaiting it.
#pragma once
#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "sim/frame_pool.h"

namespace sd::sim {

template <typename T>
class task;

namespace detail {

struct promise_base {
  std::coroutine_handle<> continuation;  // the awaiting parent; empty for a top-level task
  std::exception_ptr error;

  // Frames come from the per-thread pool (sim/frame_pool.h).
  static void* operator new(std::size_t n) { return frame_pool::local().allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept {
    frame_pool::local().release(p, n);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto c = h.promise().continuation;
      return c ? c : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};

template <typename T>
struct promise : promise_base {
  std::optional<T> value;
  task<T> get_return_object();
  void return_value(T v) { value = std::move(v); }
};

template <>
struct promise<void> : promise_base {
  task<void> get_return_object();
  void return_void() {}
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  task() = default;
  explicit task(handle_type h) : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  // Awaiting a task runs it as a sub-path of the awaiting coroutine.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    h_.promise().continuation = parent;
    return h_;
  }
  T await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    if constexpr (!std::is_void_v<T>) return std::move(*h_.promise().value);
  }

  handle_type handle() const { return h_; }
  bool done() const { return !h_ || h_.done(); }
  // Rethrows an exception that escaped a top-level task (a model bug, never a verdict).
  void rethrow_if_failed() const {
    if (h_ && h_.done() && h_.promise().error) std::rethrow_exception(h_.promise().error);
  }

 private:
  void destroy() {
    if (h_) h_.destroy();
    h_ = {};
  }
  handle_type h_;
};

namespace detail {
template <typename T>
task<T> promise<T>::get_return_object() {
  return task<T>{std::coroutine_handle<promise<T>>::from_promise(*this)};
}
inline task<void> promise<void>::get_return_object() {
  return task<void>{std::coroutine_handle<promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace sd::sim
