// Batch-level worker threads with single-threaded OpenMP teams (see batch_workers.h).
#include "runtime/batch_workers.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <omp.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mtst {

namespace {

thread_local bool on_pool_thread = false;

// Elements of a fill that ATen runs through its parallel_for (more than its grain of 32768).
constexpr int64_t kOneParallelOp = 1 << 16;

// Threads that live as long as the process, so a server's every batch does not pay for thread
// creation (and oneDNN's per-thread state) again. One job at a time; callers queue on a mutex.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static auto* pool = new WorkerPool();  // never destroyed: idle threads end with the process
    return *pool;
  }

  void run(size_t count, int workers, const std::function<void(size_t)>& fn) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    grow(static_cast<size_t>(workers));
    Job job;
    job.fn = &fn;
    job.count = count;
    job.inference = c10::InferenceMode::is_enabled();
    job.grad = at::GradMode::is_enabled();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      job.joined = static_cast<size_t>(workers);
      ++generation_;
    }
    wake_.notify_all();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return job.finished == job.joined; });
    job_ = nullptr;
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  struct Job {
    const std::function<void(size_t)>* fn = nullptr;
    size_t count = 0;
    bool inference = false, grad = false;
    std::atomic<size_t> next{0};
    size_t joined = 0, finished = 0, started = 0;
    std::exception_ptr error;
  };

  void grow(size_t n) {
    while (threads_.size() < n) {
      threads_.emplace_back([this] { loop(); });
      threads_.back().detach();
    }
  }

  void loop() {
    on_pool_thread = true;
    // This thread's OpenMP teams: itself only. ATen sets a new thread's team size to the global
    // thread count at its first parallel op; doing that first keeps it from undoing the 1. The
    // flag that marks it done is thread-local to the library that runs the op (libtorch 2.x
    // keeps its copy private), so a real ATen op over more than one grain of elements does it.
    at::internal::lazy_init_num_threads();
    (void)at::empty({kOneParallelOp}, at::kFloat).fill_(0);
    omp_set_num_threads(1);
    uint64_t seen = 0;
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          return generation_ != seen && job_ != nullptr && job_->started < job_->joined;
        });
        seen = generation_;
        job = job_;
        ++job->started;
      }
      work(*job);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++job->finished;
      }
      done_.notify_all();
    }
  }

  static void work(Job& job) {
    c10::InferenceMode inference_guard(job.inference);
    at::AutoGradMode grad_guard(job.grad);
    for (size_t i = job.next++; i < job.count; i = job.next++) {
      try {
        (*job.fn)(i);
      } catch (...) {
        static std::mutex error_mutex;
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!job.error) job.error = std::current_exception();
        job.next = job.count;  // stop handing out work
      }
    }
  }

  std::mutex job_mutex_;  // one job at a time
  std::mutex mutex_;      // job_, generation_ and the job's counters
  std::condition_variable wake_, done_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace

void for_each_batch(size_t count, int workers, const std::function<void(size_t)>& fn) {
  if (workers <= 1 || count <= 1 || on_pool_thread) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  WorkerPool::instance().run(count, workers, fn);
}

}  // namespace mtst
