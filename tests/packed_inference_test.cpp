// The packed inference path (FusedCpuEngine on a padded batch: only real tokens through the
// layers, attention per length-sorted group, rounded shapes) against the plain padded path it
// replaces, on batches of mixed lengths with an outlier; and the group plan TokenRows::pack
// makes.
#include <gtest/gtest.h>

#include <random>

#include "mtst/model/fused_cpu_engine.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/ops/exec_plan.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::max_abs_diff;

struct Batch {
  at::Tensor ids, mask;
};

// Right-padded random ids of the given lengths ([CLS]-free: any in-vocabulary id will do).
Batch random_batch(const std::vector<int64_t>& lengths, int64_t vocab, uint32_t seed) {
  const auto B = static_cast<int64_t>(lengths.size());
  const int64_t T = *std::max_element(lengths.begin(), lengths.end());
  std::mt19937 rng(seed);
  Batch b{at::zeros({B, T}, at::kLong), at::zeros({B, T}, at::kLong)};
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t t = 0; t < lengths[static_cast<size_t>(i)]; ++t) {
      b.ids[i][t] = static_cast<int64_t>(1 + rng() % static_cast<uint32_t>(vocab - 1));
      b.mask[i][t] = 1;
    }
  }
  return b;
}

// 37 sentences: one at the 64-position limit, a spread of short and medium ones, repeats.
std::vector<int64_t> mixed_lengths() {
  std::vector<int64_t> lengths{64};
  std::mt19937 rng(7);
  for (int i = 0; i < 36; ++i) lengths.push_back(1 + static_cast<int64_t>(rng() % 30));
  return lengths;
}

TEST(PackedInference, EqualsThePaddedPathAtEveryRealToken) {
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-hf", {});
  const auto batch = random_batch(mixed_lengths(), encoder.config().vocab_size, 1);
  const auto keep = batch.mask.unsqueeze(-1).to(at::kFloat);
  FusedCpuEngine fp32(encoder.model(), Precision::kFp32);
  const auto packed = fp32.forward(batch.ids, batch.mask);
  const auto padded = fp32.forward(batch.ids, batch.mask, false);
  EXPECT_LT(max_abs_diff(packed * keep, padded * keep, "packed vs padded fp32"), 1e-5);
  EXPECT_EQ(packed.masked_select(keep == 0).abs().max().item<float>(), 0.0f);
}

TEST(PackedInference, Bf16EqualsThePaddedPathPerSentence) {
  if (!precision_supported(Precision::kBf16)) GTEST_SKIP() << test::kNoBf16;
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-hf", {});
  const auto batch = random_batch(mixed_lengths(), encoder.config().vocab_size, 1);
  const auto keep = batch.mask.unsqueeze(-1).to(at::kFloat);
  // bf16: the same products in other shapes round differently; per-sentence mean-pooled
  // embeddings must still agree closely.
  FusedCpuEngine bf16(encoder.model(), Precision::kBf16);
  auto mean = [&](const at::Tensor& h) { return (h.to(at::kFloat) * keep).sum(1) / keep.sum(1); };
  const auto cosine = at::cosine_similarity(mean(bf16.forward(batch.ids, batch.mask)),
                                            mean(bf16.forward(batch.ids, batch.mask, false)), 1);
  EXPECT_GT(cosine.min().item<double>(), 0.9999);
}

TEST(PackedInference, ABatchWithAnEmptyRowKeepsThePaddedPath) {
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-hf", {});
  auto batch = random_batch({5, 3, 1}, encoder.config().vocab_size, 3);
  batch.mask[2].zero_();  // no tokens at all: nothing to pack, HF's padded math applies
  EXPECT_TRUE(TokenRows::pack(batch.mask, 8, at::kFloat, 8, 64).groups.empty());
  FusedCpuEngine fp32(encoder.model(), Precision::kFp32);
  EXPECT_TRUE(
      at::equal(fp32.forward(batch.ids, batch.mask), fp32.forward(batch.ids, batch.mask, false)));
}

TEST(PackedInference, GroupsAreSortedBoundedAndRounded) {
  const auto lengths = mixed_lengths();
  const auto batch = random_batch(lengths, 100, 2);
  const auto rows = TokenRows::pack(batch.mask, 8, at::kFloat, 8, 64);
  ASSERT_FALSE(rows.groups.empty());
  const int64_t real = batch.mask.sum().item<int64_t>();
  EXPECT_EQ(rows.rows.size(0), real);
  EXPECT_EQ(rows.inverse.size(0) % 64, 0);  // linear layers see a multiple of 64 rows
  EXPECT_GE(rows.inverse.size(0), real);
  // The 64-token outlier is alone: the next longest is under 3/4 of it.
  EXPECT_EQ(rows.groups.front().sentences, 1);
  EXPECT_EQ(rows.groups.front().length, 64);
  int64_t sentences = 0, previous = 1 << 30;
  for (const auto& g : rows.groups) {
    EXPECT_LE(g.sentences, 8);
    EXPECT_EQ(g.length % 8, 0);
    ASSERT_EQ(static_cast<int64_t>(g.lengths.size()), g.sentences);
    EXPECT_LE(g.lengths.front(), g.length);
    EXPECT_LE(g.lengths.front(), previous);  // longest first
    EXPECT_GE(4 * g.lengths.back(), 3 * g.lengths.front());
    EXPECT_EQ(g.padded, g.lengths.back() < g.length);
    previous = g.lengths.back();
    sentences += g.sentences;
  }
  EXPECT_EQ(sentences, static_cast<int64_t>(lengths.size()));
  // Every real token lands on its own row of the stacked groups and comes back from it.
  const auto x = at::arange(real, at::kFloat).unsqueeze(1);
  const auto back = rows.from_groups(rows.to_groups(x)).narrow(0, 0, real);
  EXPECT_TRUE(at::equal(back, x));
}

}  // namespace
}  // namespace mtst
