// The HTTP server's connection workers: a fixed number of threads, each serving one connection
// at a time, and a bounded queue of accepted connections waiting for a thread. When the queue is
// full the listener waits for room instead of accepting more, so further clients wait in the
// kernel's listen backlog (as long as --max-pending-connections, see server.cpp): the server's
// memory does not grow with the number of connections. httplib's own ThreadPool queues without
// a bound.
// Internal to src/serve.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mtst::serve {

class ConnectionPool : public httplib::TaskQueue {
 public:
  // void in httplib < 0.15 (Debian 12's 0.11); bool in later ones (false would refuse).
  using EnqueueResult =
      decltype(std::declval<httplib::TaskQueue&>().enqueue(std::function<void()>()));

  ConnectionPool(size_t threads, size_t max_pending);
  ~ConnectionPool() override;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Called by the listener for each accepted connection; blocks while the queue is full.
  EnqueueResult enqueue(std::function<void()> serve_connection) override;
  // Serves what is queued, then joins the threads.
  void shutdown() override;

  size_t pending() const;

 private:
  void work();

  const size_t max_pending_;
  mutable std::mutex mutex_;
  std::condition_variable has_work_, has_room_;
  std::deque<std::function<void()>> pending_;
  bool shutting_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mtst::serve
