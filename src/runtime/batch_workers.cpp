// Batch-level worker threads with single-threaded OpenMP teams (see batch_workers.h).
#include "runtime/batch_workers.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <omp.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mtst {

void for_each_batch(size_t count, int workers, const std::function<void(size_t)>& fn) {
  if (workers <= 1 || count <= 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const bool inference = c10::InferenceMode::is_enabled();
  const bool grad = at::GradMode::is_enabled();
  auto work = [&] {
    // Thread-local settings: one OpenMP thread, and the caller's autograd mode.
    omp_set_num_threads(1);
    c10::InferenceMode inference_guard(inference);
    at::AutoGradMode grad_guard(grad);
    for (size_t i = next++; i < count; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = count;  // stop handing out work
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace mtst
