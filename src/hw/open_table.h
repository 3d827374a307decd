// A flat open-addressing hash table (linear probing, at most half full; an erase shifts the
// rest of its probe run back instead of leaving a tombstone, so runs never grow with
// churn). hw::tlb keeps its entries and their occupancy summary in it: a lookup is one
// probe into contiguous memory, where a red-black tree took about log2(n) dependent cache
// misses (issue 12).
//
// Key must have a static `empty()` value that is never stored, operator== and a static
// `hash`. Values move when the table rehashes or an erase shifts a run back: `moved`, when
// set, is called with each value at its new address.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sd::hw {

template <typename Key, typename Value>
class open_table {
 public:
  struct slot {
    Key key = Key::empty();
    Value value{};
    bool used() const { return !(key == Key::empty()); }
  };
  using moved_fn = void (*)(void* ctx, Value& v);
  static constexpr std::size_t npos = ~std::size_t{0};

  void on_move(moved_fn f, void* ctx) {
    moved_ = f;
    ctx_ = ctx;
  }

  std::size_t position(const Key& k) const {
    if (slots_.empty()) return npos;
    for (std::size_t i = home(k);; i = next(i)) {
      if (slots_[i].key == k) return i;
      if (!slots_[i].used()) return npos;
    }
  }
  Value* find(const Key& k) {
    const std::size_t i = position(k);
    return i == npos ? nullptr : &slots_[i].value;
  }
  const Value* find(const Key& k) const {
    const std::size_t i = position(k);
    return i == npos ? nullptr : &slots_[i].value;
  }
  // `k` must not be present. Returns the new value's address.
  Value& insert(const Key& k, const Value& v) {
    if (2 * (size_ + 1) > slots_.size()) rebuild(2 * (size_ + 1));
    ++size_;
    return slots_[place(k, v)].value;
  }
  // The value of `k`, after inserting `v` there if `k` was absent (then `.second` is true):
  // one probe run where find() and insert() take two. The slot is the one insert() takes.
  std::pair<Value*, bool> try_insert(const Key& k, const Value& v) {
    if (!slots_.empty()) {
      std::size_t i = home(k);
      for (; slots_[i].used(); i = next(i))
        if (slots_[i].key == k) return {&slots_[i].value, false};
      if (2 * (size_ + 1) <= slots_.size()) {  // else insert() grows the table first
        ++size_;
        slots_[i] = {k, v};
        return {&slots_[i].value, true};
      }
    }
    return {&insert(k, v), true};
  }
  void erase_at(std::size_t hole) {
    --size_;
    // Move back each later value of the run whose home is not cyclically in (hole, slot].
    for (std::size_t i = next(hole);; i = next(i)) {
      slot& s = slots_[i];
      if (!s.used()) break;
      const std::size_t h = home(s.key);
      const bool stays = hole < i ? (hole < h && h <= i) : (hole < h || h <= i);
      if (stays) continue;
      slots_[hole] = s;
      if (moved_) moved_(ctx_, slots_[hole].value);
      hole = i;
    }
    slots_[hole] = slot{};
  }
  // Empties the table at once, given the position of every value in it (any order): no run
  // is shifted, nothing moves. The slots are kept, as after erasing each.
  void clear_at(const std::vector<std::size_t>& every_position) {
    if (every_position.size() != size_)
      throw std::logic_error("model bug: open_table::clear_at given some of its values only");
    for (const std::size_t i : every_position) slots_[i] = slot{};
    size_ = 0;
  }
  // After erasing many: a mostly empty table is rebuilt smaller, so a scan stays short. An
  // emptied one keeps its slots: it is scanned no more and usually refilled (a vCPU's TLB
  // after the full flush at VM entry), which would grow it step by step again.
  void shrink_if_sparse() {
    if (size_ > 0 && slots_.size() > 16 && 8 * size_ < slots_.size()) rebuild(size_);
  }

  Value& value_at(std::size_t i) { return slots_[i].value; }
  std::size_t size() const { return size_; }
  const std::vector<slot>& slots() const { return slots_; }

 private:
  std::size_t home(const Key& k) const { return Key::hash(k) & (slots_.size() - 1); }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }
  std::size_t place(const Key& k, const Value& v) {
    std::size_t i = home(k);
    while (slots_[i].used()) i = next(i);
    slots_[i] = {k, v};
    return i;
  }
  // Room for `n` values at most half full (at least 16 slots).
  void rebuild(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    std::vector<slot> old(cap);
    old.swap(slots_);
    for (const slot& s : old)
      if (s.used()) {
        Value& v = slots_[place(s.key, s.value)].value;
        if (moved_) moved_(ctx_, v);
      }
  }
  std::vector<slot> slots_;  // 0 or a power of two
  std::size_t size_ = 0;
  moved_fn moved_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace sd::hw
