// GradientOverlap (gradient sums started during backward) against sum_gradients, the reference
// path, on two Gloo ranks as two threads of this process. A toy model with an "encoder" (a
// lookup table, sent as the rows the step looks up, two matrices and a parameter outside the
// graph, as BERT's pooler) and two "heads" runs steps in which a head has rows on one rank only,
// a rank has no rows at all, and a head has rows on no rank; the overlapped gradients must equal
// the reference's bit for bit (a sum of two floats does not depend on the order), be absent
// where the reference's are, and tiny buckets must start inside backward. A gradient the plan
// did not foresee fails on every rank alike.
#include "train/gradient_overlap.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "mtst/error.h"
#include "test_util.h"
#include "train/gradient_sync.h"

namespace mtst {
namespace {

constexpr int64_t kTinyBucket = 64;  // bytes: every parameter a bucket of its own

// The parameters: a lookup table E, matrices W1 and W2, the pooler-like P, heads A and B.
enum { kE, kW1, kW2, kP, kA, kB };
// Owner 0 is the encoder, 1 and 2 the heads A and B.
const std::vector<size_t> kOwners{0, 0, 0, 0, 1, 2};

// The rows of E each rank looks up, and all of them (as every rank knows from the plan).
std::vector<int64_t> looked_up(int rank) {
  return rank == 0 ? std::vector<int64_t>{3, 1, 3} : std::vector<int64_t>{7, 3};
}
std::map<size_t, at::Tensor> rows_of_e() { return {{kE, at::tensor({1, 3, 7}, at::kLong)}}; }

std::vector<at::Tensor> toy_parameters() {
  const std::vector<std::vector<int64_t>> shapes{{10, 6}, {6, 8}, {6, 6}, {4}, {3, 6}, {3, 6}};
  std::vector<at::Tensor> params;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const int64_t n = c10::multiply_integers(shapes[k]);
    params.push_back(
        at::sin(at::arange(n, at::kFloat) * 0.37 + static_cast<double>(k)).view(shapes[k]));
    params.back().requires_grad_(true);
  }
  return params;
}

std::vector<at::Tensor> clones(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// What one rank holds in one step.
struct Rows {
  bool a = false, b = false;
  bool pooler = false;  // the parameter the plan says never gets a gradient takes one
};

// This rank's loss for STEP, back-propagated into PARAMS (nothing without rows).
void backward(const std::vector<at::Tensor>& params, int rank, int64_t step, const Rows& rows) {
  if (!rows.a && !rows.b) return;
  const auto x = at::cos(at::arange(5 * 8, at::kFloat) * (0.1 + rank) + static_cast<double>(step))
                     .view({5, 8});
  const auto e = params[kE].index_select(0, at::tensor(looked_up(rank), at::kLong)).sum(0);
  const auto h = at::matmul(at::tanh(at::matmul(x, params[kW1].t())), params[kW2].t()) * e;
  at::Tensor loss = at::zeros({}, at::kFloat);
  if (rows.a) loss = loss + at::matmul(h, params[kA].t()).pow(2).sum();
  if (rows.b) loss = loss + at::sin(at::matmul(h, params[kB].t())).sum();
  if (rows.pooler) loss = loss + params[kP].sum() * h.mean();
  loss.backward();
}

std::vector<bool> owners(const Rows& rows) { return {rows.a || rows.b, rows.a, rows.b}; }

Rows either(const Rows& x, const Rows& y) { return {x.a || y.a, x.b || y.b, false}; }

void zero_grads(const std::vector<at::Tensor>& params) {
  for (auto p : params) p.mutable_grad().reset();
}

// One step on both the overlapped parameters and the reference clones; returns the number of
// buckets started during backward, after checking the two agree. RAN: what backward uses, when
// it is not what the plan says (HERE).
int64_t step_both(Communicator& c, GradientOverlap& overlap, std::vector<at::Tensor>& params,
                  int64_t step, const Rows& here, const Rows& other, const Rows* ran = nullptr) {
  const auto anywhere = owners(either(here, other));
  EXPECT_TRUE(overlap.knows(anywhere)) << "step " << step;
  zero_grads(params);
  overlap.begin(owners(here), anywhere, step, rows_of_e());
  backward(params, c.rank(), step, ran ? *ran : here);
  overlap.finish();

  auto reference = clones(params);
  backward(reference, c.rank(), step, ran ? *ran : here);
  sum_gradients(reference, c, step, kTinyBucket);
  for (size_t k = 0; k < params.size(); ++k) {
    const auto& got = params[k].grad();
    const auto& want = reference[k].grad();
    EXPECT_EQ(got.defined(), want.defined()) << "step " << step << " parameter " << k;
    if (got.defined() && want.defined()) {
      EXPECT_TRUE(at::equal(got, want)) << "step " << step << " parameter " << k;
    }
  }
  return overlap.started_in_backward();
}

// Runs BODY(communicator) as each of two ranks, concurrently; returns both results.
template <typename Body>
auto two_ranks(Body body) {
  const int port = test::free_tcp_port();
  auto run = [&](int rank) {
    DistEnv env;
    env.rank = rank;
    env.world_size = 2;
    env.master_port = port;
    Communicator c(env, std::chrono::milliseconds(20000));
    return body(c);
  };
  auto r1 = std::async(std::launch::async, run, 1);
  auto r0 = run(0);
  return std::make_pair(r0, r1.get());
}

// Steps summed by sum_gradients until every owner has been seen, as the trainer does.
void learn_until_known(Communicator& c, GradientOverlap& overlap,
                       const std::vector<at::Tensor>& params) {
  const std::vector<Rows> classic{{true, false}, {true, true}};  // B is first seen in step 2
  for (size_t s = 0; s < classic.size(); ++s) {
    const auto anywhere = owners(classic[s]);
    EXPECT_FALSE(overlap.knows({true, true, true})) << "before classic step " << s;
    zero_grads(params);
    backward(params, c.rank(), static_cast<int64_t>(s), classic[s]);
    overlap.learn(sum_gradients(params, c, static_cast<int64_t>(s), kTinyBucket), anywhere);
  }
  EXPECT_TRUE(overlap.knows({true, true, true}));
}

TEST(GradientOverlap, EqualsTheReferenceSumsWhateverRowsEachRankHolds) {
  auto [a, b] = two_ranks([](Communicator& c) {
    auto params = toy_parameters();
    GradientOverlap overlap(params, kOwners, 3, c, {kTinyBucket, kTinyBucket});
    learn_until_known(c, overlap, params);
    // Per step, rank 0's rows and rank 1's.
    const std::vector<std::pair<Rows, Rows>> steps{
        {{true, false}, {false, true}},  // each head on one rank only
        {{true, true}, {false, false}},  // rank 1 has no rows: no backward there
        {{true, false}, {true, false}},  // head B has rows nowhere: no gradient anywhere
        {{true, true}, {true, true}},
    };
    std::vector<int64_t> in_backward;
    for (size_t s = 0; s < steps.size(); ++s) {
      const auto& [r0, r1] = steps[s];
      const bool zero = c.rank() == 0;
      in_backward.push_back(step_both(c, overlap, params, static_cast<int64_t>(s) + 2,
                                      zero ? r0 : r1, zero ? r1 : r0));
    }
    EXPECT_EQ(overlap.bucket_count(), 5);  // the pooler-like parameter is in none
    // Head A planned on both ranks, but backward gives it no gradient on either: it must end
    // with none, as in the reference. Its bucket waits, and so do the later ones.
    const Rows b_only{false, true};
    in_backward.push_back(step_both(c, overlap, params, 6, {true, true}, {true, true}, &b_only));
    return in_backward;
  });
  // Buckets start as their gradients arrive, one parameter a bucket. A head without rows here
  // holds zeros: first in line, it starts before backward (rank 0, step 1), or later in line,
  // with the bucket before it (rank 1). Without rows, everything starts at once (rank 1,
  // step 2).
  EXPECT_EQ(a, (std::vector<int64_t>{4, 5, 4, 5, 1}));
  EXPECT_EQ(b, (std::vector<int64_t>{5, 0, 4, 5, 1}));
}

TEST(GradientOverlap, AGradientThePlanDidNotForeseeFailsOnEveryRank) {
  auto [a, b] = two_ranks([](Communicator& c) -> std::string {
    auto params = toy_parameters();
    GradientOverlap overlap(params, kOwners, 3, c, {kTinyBucket, kTinyBucket});
    learn_until_known(c, overlap, params);
    zero_grads(params);
    const std::vector<bool> all{true, true, true};
    overlap.begin(all, all, 2, rows_of_e());
    backward(params, c.rank(), 2, {true, true, c.rank() == 1});
    try {
      overlap.finish();
    } catch (const Error& e) {
      return e.what();
    }
    return "finish succeeded";
  });
  for (const auto& message : {a, b}) {
    EXPECT_NE(message.find("gradient overlap at step 3: a parameter got a gradient that the "
                           "step's plan did not foresee"),
              std::string::npos)
        << message;
  }
}

}  // namespace
}  // namespace mtst
