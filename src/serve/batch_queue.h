// The queue between the HTTP threads and the one model worker (text-embeddings-inference's
// design): requests arrive tokenized, wait in FIFO order, and the worker takes as many as fit
// a token budget and a request count into one batch, runs the encoder once for all their
// sentences, and hands each request its rows. Full queue = refusal (HTTP 429), not waiting.
// Internal to src/serve.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace mtst::serve {

struct BatchLimits {
  size_t max_batch_tokens = 16384;       // sum of the sentences' token counts in one batch
  size_t max_batch_requests = 64;        // requests in one batch
  size_t max_concurrent_requests = 512;  // queued + running; more are refused
};

struct BatchResult {
  at::Tensor rows;  // [sentences of the request, D], float32
  double queue_ms = 0, inference_ms = 0;
  size_t batch_requests = 0, batch_tokens = 0;
};

// What the worker reports about each batch (for metrics).
struct BatchStats {
  size_t requests = 0, sentences = 0, tokens = 0;
  double inference_ms = 0;
};

class BatchQueue {
 public:
  // RUN maps all sentences of a batch (token ids) to one [N,D] tensor in order. It runs on the
  // worker thread only. ON_BATCH (optional) is told about every batch.
  using RunFn = std::function<at::Tensor(const std::vector<std::vector<int64_t>>&)>;
  BatchQueue(BatchLimits limits, RunFn run, std::function<void(const BatchStats&)> on_batch = {});
  // Finishes every accepted request, then stops the worker.
  ~BatchQueue();

  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Queues one request (its sentences' ids); empty when the queue is full or shut down.
  std::optional<std::future<BatchResult>> submit(std::vector<std::vector<int64_t>> ids);
  // Requests accepted and not yet answered.
  size_t in_flight() const;
  size_t queued() const;
  // Stops accepting; the worker drains what was accepted.
  void shutdown();

 private:
  struct Job {
    std::vector<std::vector<int64_t>> ids;
    size_t tokens = 0;
    std::chrono::steady_clock::time_point enqueued;
    std::promise<BatchResult> promise;
  };
  void work();

  BatchLimits limits_;
  RunFn run_;
  std::function<void(const BatchStats&)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Job>> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mtst::serve
