// ConnectionPool (see connection_pool.h): worker threads and a bounded queue of connections.
#include "serve/connection_pool.h"

#include <type_traits>
#include <utility>

namespace mtst::serve {

namespace {

// "Accepted" in whichever type this httplib's enqueue returns.
template <typename Result>
Result accepted() {
  if constexpr (std::is_same_v<Result, bool>) {
    return true;
  } else {
    return;
  }
}

}  // namespace

ConnectionPool::ConnectionPool(size_t threads, size_t max_pending)
    : max_pending_(max_pending == 0 ? 1 : max_pending) {
  threads_.reserve(threads);
  for (size_t i = 0; i < (threads == 0 ? 1 : threads); ++i)
    threads_.emplace_back([this] { work(); });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

ConnectionPool::EnqueueResult ConnectionPool::enqueue(std::function<void()> serve_connection) {
  std::unique_lock<std::mutex> lock(mutex_);
  has_room_.wait(lock, [this] { return pending_.size() < max_pending_ || shutting_down_; });
  pending_.push_back(std::move(serve_connection));
  has_work_.notify_one();
  return accepted<EnqueueResult>();
}

void ConnectionPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_ && threads_.empty()) return;
    shutting_down_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

size_t ConnectionPool::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.size();
}

void ConnectionPool::work() {
  for (;;) {
    std::function<void()> serve_connection;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      has_work_.wait(lock, [this] { return !pending_.empty() || shutting_down_; });
      if (pending_.empty()) return;  // shutting down, nothing left
      serve_connection = std::move(pending_.front());
      pending_.pop_front();
    }
    has_room_.notify_one();
    serve_connection();
  }
}

}  // namespace mtst::serve
