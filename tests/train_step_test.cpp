// Multi-task training parity with PyTorch (tests/fixtures/tiny-bert-train-goldens.*): the
// tiny BERT + two Linear-ReLU-Linear heads, loss = mean of the two cross-entropies, three
// AdamW steps, with the backbone trained ("full") or frozen ("frozen_backbone"): losses within
// 1e-5, first-step gradients and the parameters after three steps within 1e-4 relative.
#include "mtst/train/train_step.h"

#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/model/weights.h"
#include "mtst/train/embedding_cache.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;

// |got - want| <= rtol * |want| + atol, elementwise; prints the worst relative excess.
void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& label,
                  double rtol = 1e-4, double atol = 1e-6) {
  ASSERT_TRUE(got.sizes().equals(want.sizes())) << label;
  const auto excess = ((got - want).abs() - rtol * want.abs()).max().item<double>();
  test::max_abs_diff(got, want, label);
  EXPECT_LE(excess, atol) << label;
}

// The tiny BERT with two Linear-ReLU-Linear heads whose weights come from the goldens, in
// training mode (the starting point of both PyTorch reference runs).
MultiTaskModel parity_model(const TensorMap& golden) {
  const auto dir = fixtures() / "tiny-bert-train";
  BertModel bert(BertConfig::from_file(dir / "config.json"));
  load_bert_weights(bert, read_weight_file(find_weight_file(dir)), dir.string());
  HeadConfig head{32, 16, 3, 0.0, "relu"};
  const std::vector<std::pair<std::string, HeadConfig>> heads = {{"category", head},
                                                                 {"sentiment", head}};
  MultiTaskModel model(bert, heads, std::vector<PoolingMode>{PoolingMode::kMean});
  model->train();
  at::NoGradGuard no_grad;
  auto params = model->named_parameters();
  for (const auto& kv : golden) {
    if (kv.first.rfind("heads.", 0) == 0) params[kv.first].copy_(kv.second);
  }
  return model;
}

class TrainParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainParity, ThreeAdamWStepsMatchPyTorch) {
  const std::string mode = GetParam();
  const auto spec = read_json_file(fixtures() / "tiny-bert-train-goldens.json");
  const auto golden = read_safetensors(fixtures() / "tiny-bert-train-goldens.safetensors");
  const auto tokenizer = Tokenizer::from_dir(fixtures() / "tiny-bert-train");
  auto model = parity_model(golden);
  auto params = model->named_parameters();
  std::vector<at::Tensor> trained;
  for (auto& p : params) {
    const bool backbone = p.key().rfind("bert.", 0) == 0;
    if (mode == "frozen_backbone" && backbone) {
      p.value().requires_grad_(false);
    } else {
      trained.push_back(p.value());
    }
  }
  torch::optim::AdamW optimizer(
      trained, torch::optim::AdamWOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.01));
  const std::vector<TaskBatch> batches = {
      collate(tokenizer, "category", spec["category_sentences"].get<std::vector<std::string>>(),
              spec["category_labels"].get<std::vector<int64_t>>(), 64),
      collate(tokenizer, "sentiment", spec["sentiment_sentences"].get<std::vector<std::string>>(),
              spec["sentiment_labels"].get<std::vector<int64_t>>(), 64)};
  const auto losses = golden.at(mode + ".losses");
  for (int64_t step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    const auto loss = forward_backward(model, batches);
    const auto want = losses[step];
    EXPECT_NEAR(loss.per_task[0], want[0].item<double>(), 1e-5) << "category, step " << step;
    EXPECT_NEAR(loss.per_task[1], want[1].item<double>(), 1e-5) << "sentiment, step " << step;
    EXPECT_NEAR(loss.combined, want[2].item<double>(), 1e-5) << "combined, step " << step;
    if (step == 0) {
      const std::string prefix = mode + ".grad0.";
      for (const auto& kv : golden) {
        if (kv.first.rfind(prefix, 0) != 0) continue;
        std::string name = kv.first.substr(prefix.size());
        const bool backbone = name.rfind("heads.", 0) != 0;
        if (backbone) name = "bert." + name;
        const auto& grad = params[name].grad();
        if (backbone && mode == "frozen_backbone") {
          // The PyTorch reference froze the encoder by leaving it out of the optimizer, so it
          // still back-propagated into it; mtst does not compute gradients it will not use.
          EXPECT_FALSE(grad.defined()) << name;
          continue;
        }
        ASSERT_TRUE(grad.defined()) << name;
        expect_close(grad, kv.second, "grad0 " + name);
      }
    }
    optimizer.step();
  }
  const std::string prefix = mode + ".after3.";
  size_t checked = 0;
  for (const auto& kv : golden) {
    if (kv.first.rfind(prefix, 0) != 0) continue;
    expect_close(params[kv.first.substr(prefix.size())], kv.second,
                 "after3 " + kv.first.substr(prefix.size()));
    ++checked;
  }
  EXPECT_EQ(checked, 11u);
}

INSTANTIATE_TEST_SUITE_P(Modes, TrainParity, ::testing::Values("full", "frozen_backbone"));

}  // namespace
}  // namespace mtst

namespace mtst {
namespace {

// With the backbone frozen, training the heads on embeddings computed once must give the
// PyTorch frozen_backbone run too, and the cached embeddings must equal the module's.
TEST(TrainParity, FrozenBackboneOnCachedEmbeddings) {
  const auto spec = read_json_file(test::fixtures() / "tiny-bert-train-goldens.json");
  const auto golden = read_safetensors(test::fixtures() / "tiny-bert-train-goldens.safetensors");
  const auto tokenizer = Tokenizer::from_dir(test::fixtures() / "tiny-bert-train");
  auto model = parity_model(golden);
  std::vector<at::Tensor> trained;
  for (auto& p : model->bert->parameters()) p.requires_grad_(false);
  for (auto& p : model->heads->parameters()) trained.push_back(p);
  std::vector<CachedBatch> batches;
  for (const char* task : {"category", "sentiment"}) {
    const auto texts = spec[std::string(task) + "_sentences"].get<std::vector<std::string>>();
    const auto labels = spec[std::string(task) + "_labels"].get<std::vector<int64_t>>();
    const auto cached = cache_embeddings(model, tokenizer, texts, 64, 3, Precision::kFp32);
    const auto direct = collate(tokenizer, task, texts, labels, 64);
    {
      at::NoGradGuard no_grad;
      EXPECT_LT(test::max_abs_diff(cached, model->embed(direct.input_ids, direct.attention_mask),
                                   std::string("cached vs module embeddings ") + task),
                1e-5);
    }
    batches.push_back({task, cached, at::tensor(labels, at::kLong), 1.0});
  }
  torch::optim::AdamW optimizer(
      trained, torch::optim::AdamWOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.01));
  const auto losses = golden.at("frozen_backbone.losses");
  for (int64_t step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    const auto loss = forward_backward(model, batches);
    EXPECT_NEAR(loss.combined, losses[step][2].item<double>(), 1e-5) << "step " << step;
    optimizer.step();
  }
  for (const auto& kv : golden) {
    const std::string prefix = "frozen_backbone.after3.heads.";
    if (kv.first.rfind(prefix, 0) != 0) continue;
    expect_close(model->named_parameters()[kv.first.substr(prefix.size() - 6)], kv.second,
                 "cached " + kv.first);
  }
}

}  // namespace
}  // namespace mtst
