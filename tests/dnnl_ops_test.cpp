// The oneDNN building blocks of the fused inference path against plain ATen: packed Linear
// with each epilogue at several batch sizes, strided batched matmul, LayerNorm and softmax.
#include <gtest/gtest.h>

#include "ops/matmul_cpu_dnnl.h"
#include "ops/norm_cpu_dnnl.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::max_abs_diff;

TEST(DnnlOps, PackedLinearMatchesAtenLinear) {
  if (!dnnl_available()) GTEST_SKIP() << "built without oneDNN";
  at::manual_seed(1);
  const auto w = at::randn({48, 40}) * 0.2, b = at::randn({48});
  PackedLinear linear(w, b, at::kFloat);
  for (int64_t m : {1, 7, 300}) {
    const auto x = at::randn({m, 40});
    const auto ref = at::linear(x, w, b);
    EXPECT_LT(max_abs_diff(linear.forward(x), ref, "linear m=" + std::to_string(m)), 1e-5);
    MatmulEpilogue gelu;
    gelu.has_activation = true;
    EXPECT_LT(max_abs_diff(linear.forward(x, gelu), at::gelu(ref), "linear+gelu"), 1e-5);
    const auto residual = at::randn({m, 48});
    MatmulEpilogue add;
    add.addend = &residual;
    EXPECT_LT(max_abs_diff(linear.forward(x, add), ref + residual, "linear+residual"), 1e-5);
  }
}

TEST(DnnlOps, StridedBatchedMatmul) {
  if (!dnnl_available()) GTEST_SKIP() << "built without oneDNN";
  const auto heads = at::randn({3, 2, 4, 9, 8});
  auto scores = at::empty({2, 4, 9, 9});
  dnnl_matmul(heads[0], heads[1].transpose(-1, -2), scores);
  EXPECT_LT(max_abs_diff(scores, at::matmul(heads[0], heads[1].transpose(-1, -2)), "q k^T"), 1e-5);
  auto context = at::empty({2, 9, 4, 8});
  auto view = context.permute({0, 2, 1, 3});
  dnnl_matmul(scores, heads[2], view);
  EXPECT_LT(max_abs_diff(view, at::matmul(scores, heads[2]), "p v into [B,T,A,d]"), 1e-4);
}

TEST(DnnlOps, LayerNormAndSoftmax) {
  const auto x = at::randn({37, 64}) * 3 + 1;
  const auto w = at::randn({64}), b = at::randn({64});
  FastLayerNorm ln(w, b, 1e-12);
  EXPECT_LT(max_abs_diff(ln.forward(x), at::layer_norm(x, {64}, w, b, 1e-12), "layer norm"), 1e-5);
  auto s = at::randn({2, 3, 5, 5}) * 4;
  const auto ref = at::softmax(s, -1);
  softmax_last_dim_(s);
  EXPECT_LT(max_abs_diff(s, ref, "softmax"), 1e-6);
}

}  // namespace
}  // namespace mtst
