// The attention head gather (ops/cpu/attention_heads.h) of every vector ISA this CPU runs,
// against ATen: rows picked by index_select, split into heads by a permuting copy, and
// rounded to bf16 by c10::BFloat16 (round to nearest even), bit for bit.
#include "ops/cpu/attention_heads.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_util.h"

namespace mtst {
namespace {

constexpr int64_t kSentences = 3, kLength = 5, kHeads = 4, kHeadDim = 24;  // D: a vector tail

// QKV rows [N, 3*A*D] as ATen lays them out for the products: [3, S, A, L, D].
at::Tensor reference_heads(const at::Tensor& qkv, const at::Tensor& rows) {
  const auto picked =
      rows.defined() ? qkv.index_select(0, rows) : qkv.narrow(0, 0, kSentences * kLength);
  return picked.view({kSentences, kLength, 3, kHeads, kHeadDim})
      .permute({2, 0, 3, 1, 4})
      .contiguous();
}

uint16_t* bits(const at::Tensor& t) { return static_cast<uint16_t*>(t.data_ptr()); }

TEST(AttentionHeads, EveryVariantGathersLikeATen) {
  at::manual_seed(7);
  const int64_t positions = kSentences * kLength, width = 3 * kHeads * kHeadDim;
  auto qkv = at::randn({positions + 6, width}) * 4;
  // Ties between two bf16 values: 1 + 2^-8 rounds down to even, 1 + 3 * 2^-8 up to even.
  qkv[2][0] = 1.0f + 1.0f / 256;
  qkv[2][1] = 1.0f + 3.0f / 256;
  const auto rows = at::randint(0, positions + 6, {positions}, at::kLong);
  for (const bool gathered : {false, true}) {
    const auto expect = reference_heads(qkv, gathered ? rows : at::Tensor());
    const auto expect_bf16 = expect.to(at::kBFloat16);
    const auto qkv_bf16 = qkv.to(at::kBFloat16);
    const cpu::HeadLayout layout{kSentences, kLength, kHeads, kHeadDim,
                                 gathered ? rows.data_ptr<int64_t>() : nullptr};
    for (auto isa : test::runnable_vector_isas()) {
      const auto& k = cpu::attention_head_kernels(isa);
      auto out = at::empty_like(expect);
      k.gather_float(qkv.data_ptr<float>(), layout, out.data_ptr<float>());
      EXPECT_TRUE(out.equal(expect)) << "float, variant " << static_cast<int>(isa);
      auto rounded = at::empty_like(expect_bf16);
      k.gather_float_to_bf16(qkv.data_ptr<float>(), layout, bits(rounded));
      EXPECT_TRUE(rounded.equal(expect_bf16)) << "float to bf16, variant " << static_cast<int>(isa);
      auto copied = at::empty_like(expect_bf16);
      k.gather_bf16(bits(qkv_bf16), layout, bits(copied));
      EXPECT_TRUE(copied.equal(reference_heads(qkv_bf16, gathered ? rows : at::Tensor())))
          << "bf16, variant " << static_cast<int>(isa);
    }
  }
  // The ties themselves (position 2 is sentence 0, token 2 when ungathered).
  const auto tie = reference_heads(qkv, at::Tensor()).to(at::kBFloat16)[0][0][0][2];
  EXPECT_EQ(tie[0].item<float>(), 1.0f);
  EXPECT_EQ(tie[1].item<float>(), 1.0f + 4.0f / 256);
}

}  // namespace
}  // namespace mtst
