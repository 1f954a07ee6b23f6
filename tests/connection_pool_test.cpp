// Tests for the HTTP server's ConnectionPool: connections beyond the threads wait in a queue of
// at most max_pending; one more makes the listener (enqueue) wait for room instead of queueing
// without bound; shutdown serves everything queued.
#include "serve/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace mtst::serve {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionPool, AFullQueueMakesTheListenerWaitForRoom) {
  ConnectionPool pool(/*threads=*/1, /*max_pending=*/2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> served{0};
  auto blocking = [&] {
    released.wait();
    ++served;
  };
  pool.enqueue(blocking);  // taken by the one thread
  while (pool.pending() != 0) std::this_thread::sleep_for(1ms);
  pool.enqueue(blocking);
  pool.enqueue(blocking);
  EXPECT_EQ(pool.pending(), 2u);

  std::atomic<bool> fourth_accepted{false};
  std::thread listener([&] {
    pool.enqueue(blocking);
    fourth_accepted = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(fourth_accepted) << "enqueue returned although the queue was full";
  EXPECT_EQ(pool.pending(), 2u);

  release.set_value();
  listener.join();
  EXPECT_TRUE(fourth_accepted);
  pool.shutdown();
  EXPECT_EQ(served, 4);
}

TEST(ConnectionPool, ShutdownServesWhatIsQueuedAndIsIdempotent) {
  std::atomic<int> served{0};
  {
    ConnectionPool pool(2, 100);
    for (int i = 0; i < 50; ++i) pool.enqueue([&] { ++served; });
    pool.shutdown();
    EXPECT_EQ(served, 50);
    pool.shutdown();
  }  // the destructor's shutdown after an explicit one is harmless
  EXPECT_EQ(served, 50);
}

}  // namespace
}  // namespace mtst::serve
