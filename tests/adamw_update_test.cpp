// The fused CPU AdamW update against the same arithmetic as ATen tensor ops (the path of
// parameters on other devices), with and without a clipping coefficient, over several steps.
#include "ops/adamw_update.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace mtst {
namespace {

TEST(AdamWUpdate, FusedCpuLoopEqualsTheTensorOps) {
  at::manual_seed(11);
  for (const float grad_scale : {1.0f, 0.37f}) {
    auto w1 = at::randn({3, 40000}), m1 = at::zeros_like(w1), v1 = at::zeros_like(w1);
    auto w2 = w1.clone(), m2 = m1.clone(), v2 = v1.clone();
    const auto w0 = w1.clone();
    for (int step = 1; step <= 3; ++step) {
      const auto grad = at::randn_like(w1);
      AdamWScalars s;
      s.decay = 1.0f - 1e-3f * 0.01f;
      s.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(0.999, step)));
      s.step_size = static_cast<float>(1e-3 / (1.0 - std::pow(0.9, step)));
      s.grad_scale = grad_scale;
      adamw_update_fused_cpu(w1, m1, v1, grad, s);
      adamw_update_reference(w2, m2, v2, grad, s);
    }
    EXPECT_LT(test::max_abs_diff(m1, m2, "adamw exp_avg fused vs ops"), 1e-7);
    EXPECT_LT(test::max_abs_diff(v1, v2, "adamw exp_avg_sq fused vs ops"), 1e-7);
    EXPECT_LT(test::max_abs_diff(w1, w2, "adamw weights fused vs ops"), 1e-6);
    EXPECT_GT((w1 - w0).abs().max().item<double>(), 1e-3);  // three real steps were taken
  }
}

}  // namespace
}  // namespace mtst
