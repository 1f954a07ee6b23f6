// The attention entry point: the reference path (oneDNN products on the CPU) against plain
// ATen math, and libtorch 2.x's scaled_dot_product_attention (the CUDA path, runnable on the
// CPU too) against the reference, on a padded batch.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include "mtst/model/bert.h"
#include "test_util.h"

namespace mtst {
namespace {

struct Qkv {
  at::Tensor q, k, v, bias;
};

// Three sentences of lengths 7, 4, 1 padded to 7 tokens; 4 heads of 16.
Qkv padded_batch() {
  at::manual_seed(3);
  const int64_t b = 3, heads = 4, t = 7, d = 16;
  Qkv x{at::randn({b, heads, t, d}), at::randn({b, heads, t, d}), at::randn({b, heads, t, d}), {}};
  auto mask = at::zeros({b, t}, at::kLong);
  mask[0].fill_(1);
  mask[1].narrow(0, 0, 4).fill_(1);
  mask[2][0] = 1;
  x.bias = attention_mask_bias(mask, at::kFloat);
  return x;
}

TEST(Attention, ReferenceIsSoftmaxOfScaledScoresTimesValues) {
  const auto x = padded_batch();
  const double scale = 0.25;
  const auto expected =
      at::matmul(at::softmax(at::matmul(x.q, x.k.transpose(-1, -2)) * scale + x.bias, -1), x.v);
  const auto got = attention_reference(x.q, x.k, x.v, x.bias, scale, 0.1, /*training=*/false);
  EXPECT_LT(test::max_abs_diff(got, expected, "attention reference vs ATen"), 1e-5);
  // The entry point takes the reference on the CPU.
  EXPECT_TRUE(at::equal(attention_context(x.q, x.k, x.v, x.bias, scale, 0.1, false), got));
}

TEST(Attention, SdpaMatchesTheReference) {
  if (!sdpa_available())
    GTEST_SKIP() << "libtorch "
                 << "before 2.1 has no scaled_dot_product_attention";
  const auto x = padded_batch();
  const auto reference = attention_reference(x.q, x.k, x.v, x.bias, 0.25, 0.0, false);
  const auto sdpa = attention_sdpa(x.q, x.k, x.v, x.bias, 0.25);
  EXPECT_LT(test::max_abs_diff(sdpa, reference, "sdpa vs reference"), 1e-5);
}

TEST(Attention, SdpaIsRefusedWhereLibtorchLacksIt) {
  if (sdpa_available()) GTEST_SKIP() << "this libtorch has scaled_dot_product_attention";
  const auto x = padded_batch();
  EXPECT_THROW(attention_sdpa(x.q, x.k, x.v, x.bias, 0.25), std::exception);
}

}  // namespace
}  // namespace mtst
