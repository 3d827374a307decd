// A first-in first-out queue for the model's wait queues. std::deque allocates a 512-byte
// block as soon as it is constructed, and the model makes a queue for every page-table lock,
// every VMA lock and every cross-CPU call; most of them never hold a waiter. This one
// allocates nothing until its first push and keeps its storage while it drains.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

namespace sd::sim {

template <class T>
class fifo {
 public:
  fifo() = default;
  // A moved-from queue is empty, as a moved-from std::deque is.
  fifo(fifo&& o) noexcept : items_(std::move(o.items_)), head_(std::exchange(o.head_, 0)) {
    o.items_.clear();
  }
  fifo& operator=(fifo&& o) noexcept {
    items_ = std::move(o.items_);
    head_ = std::exchange(o.head_, 0);
    o.items_.clear();
    return *this;
  }
  fifo(const fifo&) = default;
  fifo& operator=(const fifo&) = default;

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  // Elements stored, taken ones included (what pop_front's compaction bounds).
  std::size_t stored() const { return items_.size(); }
  void push_back(const T& v) { items_.push_back(v); }
  T& front() { return items_[head_]; }
  void pop_front() {
    ++head_;
    // Drop the taken prefix once it is most of the storage, so a queue that never drains
    // stays bounded by twice its length.
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }
  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;  // items_[0, head_) were taken
};

}  // namespace sd::sim
