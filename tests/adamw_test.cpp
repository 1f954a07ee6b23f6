// Fused AdamW against libtorch's torch::optim::AdamW (the reference update rule) with and
// without global-norm clipping, skipped parameters, and the state round trip; the learning
// rate schedule against hand-computed values.
#include "mtst/train/adamw.h"

#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <cmath>

#include "mtst/error.h"
#include "mtst/train/lr_schedule.h"

namespace mtst {
namespace {

std::vector<at::Tensor> make_params(uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return {at::randn({7, 5}, gen).requires_grad_(), at::randn({5}, gen).requires_grad_()};
}

void set_grads(std::vector<at::Tensor>& params, int step) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + step);
  for (auto& p : params) p.mutable_grad() = at::randn(p.sizes(), gen) * 3.0;
}

class FusedAdamWMatchesTorch : public ::testing::TestWithParam<double> {};

TEST_P(FusedAdamWMatchesTorch, OverFiveSteps) {
  const double clip = GetParam();
  auto ours = make_params(1), theirs = make_params(1);
  FusedAdamW fused({{{ours[0]}, 1e-2, 0.1}, {{ours[1]}, 1e-2, 0.0}}, 0.9, 0.98, 1e-6);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      std::vector<at::Tensor>{theirs[0]},
      std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(1e-2).betas({0.9, 0.98}).eps(1e-6).weight_decay(0.1)));
  groups.emplace_back(
      std::vector<at::Tensor>{theirs[1]},
      std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(1e-2).betas({0.9, 0.98}).eps(1e-6).weight_decay(0.0)));
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 5; ++step) {
    set_grads(ours, step);
    set_grads(theirs, step);
    if (clip > 0) torch::nn::utils::clip_grad_norm_(theirs, clip);
    fused.step(clip);
    reference.step();
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    const double diff = (ours[i] - theirs[i]).abs().max().item<double>();
    EXPECT_LT(diff, 1e-6) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Clip, FusedAdamWMatchesTorch, ::testing::Values(0.0, 1.0));

TEST(FusedAdamW, SkipsParametersWithoutGradientsAndResumesFromState) {
  auto a = make_params(2), b = make_params(2);
  FusedAdamW first({{a, 1e-2, 0.01}}), second({{b, 1e-2, 0.01}});
  set_grads(a, 0);
  a[1].mutable_grad().reset();  // no gradient: untouched this step
  const auto before = a[1].detach().clone();
  first.step();
  EXPECT_TRUE(at::equal(a[1], before));
  // Copy the weights and state into the second optimizer, then both step identically.
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
  }
  second.load_state(first.state());
  set_grads(a, 1);
  set_grads(b, 1);
  first.step();
  second.step();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << i;
  auto state = first.state();
  state.erase("exp_avg/0/1");
  EXPECT_THROW(second.load_state(state), Error);
}

TEST(LrSchedule, WarmupThenLinearCosineOrConstant) {
  const LrSchedule linear("linear", 10, 2), cosine("cosine", 10, 2), constant("constant", 10, 2);
  // Warmup: 0, 1/2; then linear decay (10 - s) / 8.
  EXPECT_DOUBLE_EQ(linear.factor(0), 0.0);
  EXPECT_DOUBLE_EQ(linear.factor(1), 0.5);
  EXPECT_DOUBLE_EQ(linear.factor(2), 1.0);
  EXPECT_DOUBLE_EQ(linear.factor(6), 0.5);
  EXPECT_DOUBLE_EQ(linear.factor(10), 0.0);
  EXPECT_DOUBLE_EQ(cosine.factor(6), 0.5 * (1 + std::cos(M_PI * 0.5)));
  EXPECT_DOUBLE_EQ(cosine.factor(4), 0.5 * (1 + std::cos(M_PI * 0.25)));
  EXPECT_DOUBLE_EQ(constant.factor(1), 0.5);
  EXPECT_DOUBLE_EQ(constant.factor(9), 1.0);
  EXPECT_DOUBLE_EQ(LrSchedule("linear", 4, 0).factor(0), 1.0);
  EXPECT_THROW(LrSchedule("step", 10, 0), Error);
  EXPECT_THROW(LrSchedule("linear", 0, 0), Error);
}

}  // namespace
}  // namespace mtst
