// Communicator (c10d TCPStore + ProcessGroupGloo): two ranks as two threads of this process,
// on loopback. Sums, maxima, broadcasts and row gathers against values computed here; a rank
// that never joins ends the other's rendezvous with a clear error inside the timeout; and
// torchrun's environment is parsed and checked.
#include "mtst/distributed/communicator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include "mtst/distributed/local_launch.h"
#include "mtst/error.h"
#include "test_util.h"

namespace mtst {
namespace {

using std::chrono::milliseconds;

DistEnv rank_env(int rank, int world, int port) {
  DistEnv env;
  env.rank = rank;
  env.world_size = world;
  env.master_port = port;
  return env;
}

// Runs BODY(communicator) as each of two ranks, concurrently; returns both results.
template <typename Body>
auto two_ranks(Body body) {
  const int port = test::free_tcp_port();
  auto run = [&](int rank) {
    Communicator c(rank_env(rank, 2, port), milliseconds(20000));
    return body(c);
  };
  auto r1 = std::async(std::launch::async, run, 1);
  auto r0 = run(0);
  return std::make_pair(r0, r1.get());
}

TEST(Communicator, SumsMaximaAndBroadcastsAcrossTwoRanks) {
  auto [a, b] = two_ranks([](Communicator& c) {
    const double r = c.rank();
    std::vector<at::Tensor> sums{at::full({3}, r + 1.0), at::arange(4, at::kFloat) * (r + 1)};
    c.allreduce_sum(sums, "test sum");
    auto max = at::full({2}, r * 10.0);
    c.allreduce_max(max, "test max");
    std::vector<at::Tensor> cast{at::full({2}, r + 5.0)};
    c.broadcast(cast, 1, "test broadcast");
    c.barrier("test barrier");
    return std::vector<at::Tensor>{sums[0], sums[1], max, cast[0]};
  });
  for (const auto* result : {&a, &b}) {
    EXPECT_TRUE(at::equal((*result)[0], at::full({3}, 3.0)));
    EXPECT_TRUE(at::equal((*result)[1], at::arange(4, at::kFloat) * 3));
    EXPECT_TRUE(at::equal((*result)[2], at::full({2}, 10.0)));
    EXPECT_TRUE(at::equal((*result)[3], at::full({2}, 6.0)));
  }
}

TEST(Communicator, GathersRowsOfUnequalCountsInRankOrder) {
  auto [a, b] = two_ranks([](Communicator& c) {
    // Rank 0 has 3 rows, rank 1 has 1.
    const int64_t rows = c.rank() == 0 ? 3 : 1;
    auto local = at::arange(rows * 2, at::kFloat).view({rows, 2}) + 100 * c.rank();
    return c.allgather_rows(local, "test gather");
  });
  const auto expected = at::cat(
      {at::arange(6, at::kFloat).view({3, 2}), at::arange(2, at::kFloat).view({1, 2}) + 100});
  EXPECT_TRUE(at::equal(a, expected)) << a;
  EXPECT_TRUE(at::equal(b, expected)) << b;
}

TEST(Communicator, AMissingRankEndsTheRendezvousWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  try {
    Communicator c(rank_env(0, 2, test::free_tcp_port()), milliseconds(1500));
    FAIL() << "the rendezvous completed without rank 1";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rank 0 of 2"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 15.0);
}

TEST(Communicator, AVanishedPeerFailsTheNextCollectiveWithAClearError) {
  const int port = test::free_tcp_port();
  auto peer = std::async(std::launch::async, [&] {
    Communicator c(rank_env(1, 2, port), milliseconds(20000));
    c.barrier("joined");
  });  // rank 1 leaves: its Communicator (and its Gloo pairs) is destroyed
  Communicator c(rank_env(0, 2, port), milliseconds(5000));
  c.barrier("joined");
  peer.get();
  std::vector<at::Tensor> t{at::ones({4})};
  const auto start = std::chrono::steady_clock::now();
  try {
    c.allreduce_sum(t, "gradient all-reduce at step 3");
    FAIL() << "an all-reduce without the other rank returned";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rank 0 of 2: gradient all-reduce at step 3 failed"), std::string::npos)
        << message;
    // The progress notes name the peer: it began one collective (the barrier), this rank two.
    EXPECT_NE(message.find("rank 1 never began it (it began 1 collective, this rank 2): it "
                           "exited or hung before it: "),
              std::string::npos)
        << message;
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}

class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      names_.push_back(name);
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    for (const auto* name : names_) unsetenv(name);
  }

 private:
  std::vector<const char*> names_;
};

TEST(DistEnv, ReadsTorchrunsVariables) {
  ScopedEnv env({{"WORLD_SIZE", "4"},
                 {"RANK", "3"},
                 {"LOCAL_RANK", "1"},
                 {"MASTER_ADDR", "10.0.0.2"},
                 {"MASTER_PORT", "29400"},
                 {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                 {"TORCHELASTIC_RESTART_COUNT", "2"}});
  const auto d = DistEnv::from_environment();
  EXPECT_EQ(d.world_size, 4);
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.local_rank, 1);
  EXPECT_EQ(d.master_addr, "10.0.0.2");
  EXPECT_EQ(d.master_port, 29400);
  EXPECT_TRUE(d.agent_store);
  EXPECT_EQ(d.restart_count, 2);
  EXPECT_TRUE(d.distributed());
}

TEST(DistEnv, RanksOnOneHostShareItsCores) {
  ScopedEnv env({{"WORLD_SIZE", "4"}, {"RANK", "0"}, {"LOCAL_WORLD_SIZE", "2"}});
  const auto d = DistEnv::from_environment();
  EXPECT_EQ(d.local_world_size, 2);
  EXPECT_EQ(d.threads_per_rank(0, 16), 8);          // "all cores": half each
  EXPECT_EQ(d.threads_per_rank(0, 1), 1);           // never none
  EXPECT_EQ(d.threads_per_rank(3, 16), 3);          // asked for: as asked
  EXPECT_EQ(DistEnv{}.threads_per_rank(0, 16), 0);  // one rank: the config's "all" stands
}

// --nproc's ranks run the launcher's own command line less --nproc, in both spellings.
TEST(LocalLaunch, RanksGetTheCommandLineWithoutNproc) {
  const std::vector<std::string> args{"train", "--nproc",   "2",         "--config", "c.json",
                                      "--set", "x=--nproc", "--nproc=3", "--quiet"};
  const std::vector<std::string> want{"train", "--config",  "c.json",
                                      "--set", "x=--nproc", "--quiet"};
  EXPECT_EQ(arguments_without(args, "--nproc"), want);
  const auto own = own_arguments_without("--gtest_filter");
  EXPECT_TRUE(std::none_of(own.begin(), own.end(),
                           [](const std::string& a) { return a.rfind("--gtest_filter", 0) == 0; }));
}

TEST(DistEnv, WithoutWorldSizeTheJobIsOneRank) {
  const auto d = DistEnv::from_environment();
  EXPECT_EQ(d.world_size, 1);
  EXPECT_FALSE(d.distributed());
}

TEST(DistEnv, MalformedValuesAreRefused) {
  {
    ScopedEnv env({{"WORLD_SIZE", "2"}, {"RANK", "2"}});
    EXPECT_THROW(DistEnv::from_environment(), Error);
  }
  {
    ScopedEnv env({{"WORLD_SIZE", "two"}});
    EXPECT_THROW(DistEnv::from_environment(), Error);
  }
  {
    ScopedEnv env({{"WORLD_SIZE", "2"}});
    EXPECT_THROW(DistEnv::from_environment(), Error);  // no RANK
  }
  {
    ScopedEnv env({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}});
    EXPECT_THROW(DistEnv::from_environment(), Error);
  }
}

}  // namespace
}  // namespace mtst
