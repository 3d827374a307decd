// Recycled coroutine frames. Every modeled kernel path is a coroutine, and a simulation
// creates and destroys millions of them (one per call of a path), mostly of a few sizes:
// keeping freed frames per size class turns the allocator round trip into a list pop.
// Per thread (check --jobs runs executions on several threads; a frame is created and
// destroyed by the same execution, so on the same thread); what a thread kept is released
// when it exits.
#pragma once
#include <array>
#include <cstddef>
#include <new>
#include <utility>

// Under AddressSanitizer frames go straight to the allocator, so a use of a destroyed
// frame is still reported instead of landing in a recycled one.
#if defined(__SANITIZE_ADDRESS__)
#define SHOOTDOWN_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHOOTDOWN_FRAME_POOL 0
#endif
#endif
#ifndef SHOOTDOWN_FRAME_POOL
#define SHOOTDOWN_FRAME_POOL 1
#endif

namespace sd::sim::detail {

class frame_pool {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 64;  // frames up to 4 KiB are recycled

  frame_pool() = default;
  frame_pool(const frame_pool&) = delete;
  frame_pool& operator=(const frame_pool&) = delete;
  ~frame_pool() {
    for (node*& head : free_)
      while (head) ::operator delete(std::exchange(head, head->next));
  }

  void* allocate(std::size_t n) {
    const std::size_t c = size_class(n);
    if (!SHOOTDOWN_FRAME_POOL || c >= classes) return ::operator new(n);
    if (node* head = free_[c]) {
      free_[c] = head->next;
      return head;
    }
    return ::operator new((c + 1) * granule);
  }
  void release(void* p, std::size_t n) noexcept {
    const std::size_t c = size_class(n);
    if (!SHOOTDOWN_FRAME_POOL || c >= classes) {
      ::operator delete(p);
      return;
    }
    free_[c] = new (p) node{free_[c]};
  }

  static frame_pool& local() {
    thread_local frame_pool pool;
    return pool;
  }

 private:
  struct node {
    node* next;
  };
  static std::size_t size_class(std::size_t n) { return n == 0 ? 0 : (n - 1) / granule; }
  std::array<node*, classes> free_{};
};

}  // namespace sd::sim::detail
