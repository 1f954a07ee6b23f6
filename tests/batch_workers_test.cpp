// The process-wide batch worker pool (runtime/batch_workers): every index runs once, each
// worker's OpenMP team is one thread even after ATen initialises the thread, errors come back
// to the caller, concurrent callers take turns, a nested call runs inline.
#include "runtime/batch_workers.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mtst/runtime/exec_options.h"

namespace mtst {
namespace {

TEST(BatchWorkers, RunsEveryIndexOnceOnOneThreadTeams) {
  apply_threads(2);  // as the CLI does; ATen then gives each new thread's first op 2 threads
  for (int round = 0; round < 3; ++round) {  // the same pool threads, reused
    std::vector<std::atomic<int>> hits(100);
    std::atomic<int> wide_teams{0};
    for_each_batch(hits.size(), 2, [&](size_t i) {
      // An ATen parallel op first: ATen resets a new thread's team size at its first one.
      (void)at::ones({1 << 16}).sum().item<float>();
      if (omp_get_max_threads() != 1) ++wide_teams;
      ++hits[i];
    });
    for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
    EXPECT_EQ(wide_teams.load(), 0);
  }
}

TEST(BatchWorkers, RethrowsTheFirstErrorAndStaysUsable) {
  EXPECT_THROW(for_each_batch(10, 2,
                              [](size_t i) {
                                if (i == 3) throw std::runtime_error("batch 3 failed");
                              }),
               std::runtime_error);
  std::atomic<int> ran{0};
  for_each_batch(10, 2, [&](size_t) { ++ran; });
  EXPECT_EQ(ran.load(), 10);
}

TEST(BatchWorkers, ConcurrentCallersAndNestedCallsFinish) {
  std::atomic<int> total{0};
  auto job = [&] {
    for_each_batch(20, 2, [&](size_t) {
      for_each_batch(3, 2, [&](size_t) { ++total; });  // from a pool thread: inline
    });
  };
  std::thread a(job), b(job);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2 * 20 * 3);
}

TEST(BatchWorkers, CarriesTheCallersInferenceMode) {
  c10::InferenceMode inference;
  std::atomic<int> inference_off{0};
  for_each_batch(8, 2, [&](size_t) {
    if (!c10::InferenceMode::is_enabled()) ++inference_off;
  });
  EXPECT_EQ(inference_off.load(), 0);
}

}  // namespace
}  // namespace mtst
