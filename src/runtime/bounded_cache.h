// A thread-safe string-keyed cache with a fixed number of entries: when it is full, the next
// insertion starts it over (values still in use live on through their shared_ptr or copies).
// The oneDNN primitive caches use it: a long-running server meets a new shape with many
// batches (token counts, attention groups), and an unbounded cache would grow as long as it
// runs. Starting over costs one re-creation per shape still in use (~0.1 ms for fp32).
// Internal to src/runtime.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mtst {

template <typename Value>
class BoundedCache {
 public:
  explicit BoundedCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  std::optional<Value> find(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  void put(const std::string& key, Value value) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() >= capacity_ && entries_.count(key) == 0) entries_.clear();
    entries_.insert_or_assign(key, std::move(value));
  }

  // The cached value for KEY, made by MAKE() on a miss (outside the lock: making a primitive
  // can take milliseconds; two threads may both make it, and the last one is kept).
  template <typename Make>
  Value get(const std::string& key, Make make) {
    if (auto hit = find(key)) return *hit;
    Value value = make();
    put(key, value);
    return value;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Value> entries_;
};

}  // namespace mtst
