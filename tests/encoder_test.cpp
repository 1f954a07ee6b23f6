// Sentence embeddings against the Hugging Face / sentence-transformers goldens
// (tests/fixtures/tiny-bert-goldens.*), for every model-directory layout, pooling mode,
// batch size and both inference paths; bf16 against fp32 by cosine.
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/model/fused_cpu_engine.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/model/weights.h"
#include "mtst/ops/exec_plan.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::max_abs_diff;

struct Goldens {
  std::vector<std::string> sentences;
  TensorMap tensors;
};

const Goldens& goldens() {
  static const Goldens g = [] {
    Goldens g;
    const auto j = read_json_file(fixtures() / "tiny-bert-goldens.json");
    g.sentences = j.at("sentences").get<std::vector<std::string>>();
    g.tensors = read_safetensors(fixtures() / "tiny-bert-goldens.safetensors");
    return g;
  }();
  return g;
}

at::Tensor encode(const std::string& dir, EncodeOptions options, Precision p = Precision::kFp32) {
  ExecOptions exec;
  exec.precision = p;
  const auto encoder = SentenceEncoder::load(fixtures() / dir, exec);
  return encoder.encode(goldens().sentences, options).embeddings;
}

EncodeOptions batch(size_t n) {
  EncodeOptions o;
  o.batch_size = n;
  return o;
}

struct LayoutCase {
  const char* dir;
  const char* golden;
};

class LayoutGoldens : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(LayoutGoldens, DefaultEncodingMatchesGolden) {
  const auto& c = GetParam();
  const auto got = encode(c.dir, batch(16));
  const auto& want = goldens().tensors.at(c.golden);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT(max_abs_diff(got, want, std::string(c.dir) + " vs " + c.golden), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LayoutGoldens,
                         ::testing::Values(LayoutCase{"tiny-bert-st", "mean"},
                                           LayoutCase{"tiny-bert-st-v2format", "mean_normalized"},
                                           LayoutCase{"tiny-bert-hf", "mean"},
                                           LayoutCase{"tiny-bert-legacy-bin", "mean"}),
                         [](const auto& info) {
                           std::string name = info.param.dir;
                           for (auto& ch : name) ch = std::isalnum(ch) ? ch : '_';
                           return name;
                         });

TEST(EncoderGoldens, MatchesSentenceTransformersEncode) {
  EXPECT_LT(max_abs_diff(encode("tiny-bert-st", batch(32)), goldens().tensors.at("st_encode"),
                         "tiny-bert-st vs st_encode"),
            1e-5);
}

TEST(EncoderGoldens, ClsAndMaxPooling) {
  for (const char* mode : {"cls", "max"}) {
    auto o = batch(16);
    o.pooling = {parse_pooling_mode(mode)};
    EXPECT_LT(max_abs_diff(encode("tiny-bert-st", o), goldens().tensors.at(mode),
                           std::string("pooling ") + mode),
              1e-5);
  }
}

TEST(EncoderGoldens, NormalizeFlagOverridesModelDefault) {
  auto o = batch(16);
  o.normalize = 1;
  EXPECT_LT(max_abs_diff(encode("tiny-bert-st", o), goldens().tensors.at("mean_normalized"),
                         "--normalize on tiny-bert-st"),
            1e-5);
  o.normalize = 0;
  EXPECT_LT(max_abs_diff(encode("tiny-bert-st-v2format", o), goldens().tensors.at("mean"),
                         "--no-normalize on v2format"),
            1e-5);
}

TEST(EncoderGoldens, BatchSizesAgree) {
  const auto b1 = encode("tiny-bert-st", batch(1));
  const auto b16 = encode("tiny-bert-st", batch(16));
  const auto b64 = encode("tiny-bert-st", batch(64));
  EXPECT_LT(max_abs_diff(b1, b16, "batch 1 vs 16"), 1e-5);
  EXPECT_LT(max_abs_diff(b64, b16, "batch 64 vs 16"), 1e-5);
  EXPECT_LT(max_abs_diff(b1, goldens().tensors.at("mean"), "batch 1 vs golden"), 1e-5);
}

TEST(EncoderGoldens, PipelinedChunksAndTokenBudgetsMatchTheGolden) {
  // Chunks of 3 texts, each tokenized on a thread while the one before encodes (a GPU's default
  // way), and passes capped at 40 padded tokens (the 64-token sentence gets a pass of its own).
  EncodeOptions chunked = batch(16), budget = batch(16);
  chunked.pipeline_chunk = 3;
  budget.max_padded_tokens = 40;
  const auto& golden = goldens().tensors.at("mean");
  EXPECT_LT(max_abs_diff(encode("tiny-bert-st", chunked), golden, "chunks of 3"), 1e-5);
  EXPECT_LT(max_abs_diff(encode("tiny-bert-st", budget), golden, "40 tokens a pass"), 1e-5);
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-st", {});
  const auto whole = encoder.encode(goldens().sentences, batch(16));
  const auto parts = encoder.encode(goldens().sentences, chunked);
  EXPECT_EQ(parts.truncated, whole.truncated);
  EXPECT_EQ(parts.tokens, whole.tokens);
  EXPECT_GE(whole.truncated, 1u);
  EXPECT_EQ(encoder.encode({}, chunked).embeddings.size(0), 0);
}

TEST(EncoderGoldens, TokenCountsMatchGoldenLengths) {
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-st", {});
  EXPECT_EQ(encoder.max_seq_length(), 64u);
  const auto lengths = goldens().tensors.at("lengths").to(at::kLong);
  size_t truncated = 0;
  for (size_t i = 0; i < goldens().sentences.size(); ++i) {
    bool cut = false;
    const auto ids = encoder.tokenize(goldens().sentences[i], 64, &cut);
    truncated += cut;
    EXPECT_EQ(static_cast<int64_t>(ids.size()), lengths[static_cast<int64_t>(i)].item<int64_t>())
        << goldens().sentences[i];
  }
  EXPECT_GE(truncated, 1u);  // the long golden sentence is cut to 64
}

TEST(EncoderGoldens, HiddenStatesOfPaddedBatch) {
  const auto& t = goldens().tensors;
  const auto ids = t.at("hidden_first4_ids").to(at::kLong);
  const auto mask = t.at("hidden_first4_mask").to(at::kLong);
  const auto& want = t.at("hidden_first4");
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-hf", {});
  // The fused inference path (unpacked) and the autograd module path both reproduce HF,
  // padding included.
  FusedCpuEngine fast(encoder.model(), Precision::kFp32);
  EXPECT_LT(max_abs_diff(fast.forward(ids, mask, false), want, "hidden_first4 fused"), 1e-5);
  // Packed (real tokens only through the layers): the same at every real token, zeros at padding.
  ASSERT_FALSE(mask.all().item<bool>());  // the golden batch is padded, so packing is exercised
  const auto keep = mask.unsqueeze(-1).to(at::kFloat);
  const auto packed = fast.forward(ids, mask);
  EXPECT_LT(max_abs_diff(packed * keep, want * keep, "hidden_first4 packed"), 1e-5);
  EXPECT_EQ(packed.masked_select(keep == 0).abs().max().item<float>(), 0.0f);
  at::NoGradGuard no_grad;
  auto model = encoder.model();
  EXPECT_LT(max_abs_diff(model->forward(ids, mask), want, "hidden_first4 module"), 1e-5);
}

TEST(EncoderGoldens, Bf16StaysCloseToFp32) {
  if (!precision_supported(Precision::kBf16)) GTEST_SKIP() << test::kNoBf16;
  const auto fp32 = encode("tiny-bert-st", batch(32));
  const auto bf16 = encode("tiny-bert-st", batch(32), Precision::kBf16);
  const auto cosine = at::cosine_similarity(fp32, bf16, 1);
  const double worst = cosine.min().item<double>();
  std::cout << "[bf16] min cosine to fp32: " << worst << std::endl;
  EXPECT_GE(worst, 0.999);
}

TEST(EncoderGoldens, MaxSeqLengthOfLayouts) {
  // v2format: sentence_bert_config.json's 64 wins over tokenizer_config's 512.
  EXPECT_EQ(SentenceEncoder::load(fixtures() / "tiny-bert-st-v2format", {}).max_seq_length(), 64u);
  // Plain HF dir: model_max_length 512 clamped to the 64 position embeddings.
  EXPECT_EQ(SentenceEncoder::load(fixtures() / "tiny-bert-hf", {}).max_seq_length(), 64u);
}

}  // namespace
}  // namespace mtst

namespace mtst {
namespace {

// Batch workers share oneDNN primitives; each execution must get its own scratchpad. A
// MiniLM-width model (large enough for oneDNN to need scratchpads) encoded with one thread
// (serial batches) and two (parallel batches) must agree.
void expect_batch_workers_match_serial(Precision p) {
  test::TempDir dir;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(test::fixtures() / "tokenizer" / f, dir / f);
  }
  nlohmann::json config = {
      {"model_type", "bert"},          {"vocab_size", 30522},       {"hidden_size", 384},
      {"num_hidden_layers", 2},        {"num_attention_heads", 12}, {"intermediate_size", 1536},
      {"max_position_embeddings", 512}};
  test::write_file(dir / "config.json", config.dump());
  std::vector<std::string> texts = goldens().sentences;
  EncodeOptions options;
  options.batch_size = 4;  // ~57 batches: the parallel path on any machine with 2+ threads
  ExecOptions exec;
  exec.precision = p;
  const auto encoder = SentenceEncoder::random(dir / "config.json", exec, 7);
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto serial = encoder.encode(texts, options).embeddings;
  at::set_num_threads(2);
  const auto parallel = encoder.encode(texts, options).embeddings;
  at::set_num_threads(before);
  ASSERT_FALSE(at::isnan(parallel).any().item<bool>());
  EXPECT_LT(test::max_abs_diff(serial, parallel, "serial vs parallel " + precision_name(p)), 1e-6);
}

TEST(EncoderParallel, BatchWorkersMatchSerialFp32) {
  expect_batch_workers_match_serial(Precision::kFp32);
}

TEST(EncoderParallel, BatchWorkersMatchSerialBf16) {
  if (!precision_supported(Precision::kBf16)) GTEST_SKIP() << test::kNoBf16;
  expect_batch_workers_match_serial(Precision::kBf16);
}

}  // namespace
}  // namespace mtst
