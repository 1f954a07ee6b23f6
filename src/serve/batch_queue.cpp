// Token-budget batching between HTTP threads and the model worker (see batch_queue.h).
#include "serve/batch_queue.h"

#include <exception>

namespace mtst::serve {

namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

BatchQueue::BatchQueue(BatchLimits limits, RunFn run,
                       std::function<void(const BatchStats&)> on_batch)
    : limits_(limits), run_(std::move(run)), on_batch_(std::move(on_batch)) {
  worker_ = std::thread([this] { work(); });
}

BatchQueue::~BatchQueue() {
  shutdown();
  if (worker_.joinable()) worker_.join();
}

std::optional<std::future<BatchResult>> BatchQueue::submit(std::vector<std::vector<int64_t>> ids) {
  auto job = std::make_unique<Job>();
  for (const auto& s : ids) job->tokens += s.size();
  job->ids = std::move(ids);
  job->enqueued = std::chrono::steady_clock::now();
  auto future = job->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || in_flight_ >= limits_.max_concurrent_requests) return std::nullopt;
    ++in_flight_;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return future;
}

size_t BatchQueue::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

size_t BatchQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void BatchQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
}

void BatchQueue::work() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> batch;
    size_t tokens = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything accepted is answered
      // FIFO: take requests while they fit; the first one always goes, whatever its size.
      while (!queue_.empty() && batch.size() < limits_.max_batch_requests &&
             (batch.empty() || tokens + queue_.front()->tokens <= limits_.max_batch_tokens)) {
        tokens += queue_.front()->tokens;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<std::vector<int64_t>> ids;
    for (auto& job : batch) {
      for (auto& s : job->ids) ids.push_back(std::move(s));
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      const at::Tensor all = run_(ids);
      const double inference = ms_since(start);
      int64_t row = 0;
      for (auto& job : batch) {
        const auto n = static_cast<int64_t>(job->ids.size());
        BatchResult r;
        r.rows = all.narrow(0, row, n);
        row += n;
        r.queue_ms = std::chrono::duration<double, std::milli>(start - job->enqueued).count();
        r.inference_ms = inference;
        r.batch_requests = batch.size();
        r.batch_tokens = tokens;
        job->promise.set_value(std::move(r));
      }
      if (on_batch_) on_batch_({batch.size(), ids.size(), tokens, inference});
    } catch (...) {
      for (auto& job : batch) job->promise.set_exception(std::current_exception());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_ -= batch.size();
  }
}

}  // namespace mtst::serve
