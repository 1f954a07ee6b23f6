// Freeze policies: after one optimizer step exactly the intended parameters have changed, the
// frozen ones computed no gradient, and the impossible policies are refused clearly.
#include "mtst/train/freeze.h"

#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <functional>
#include <map>
#include <set>

#include "mtst/error.h"
#include "mtst/model/weights.h"
#include "mtst/train/train_step.h"
#include "test_util.h"

namespace mtst {
namespace {

MultiTaskModel tiny_model() {
  const auto dir = test::fixtures() / "tiny-bert-train";
  BertModel bert(BertConfig::from_file(dir / "config.json"));
  load_bert_weights(bert, read_weight_file(find_weight_file(dir)), dir.string());
  HeadConfig head{32, 16, 3, 0.0, "relu"};
  const std::vector<std::pair<std::string, HeadConfig>> heads = {{"category", head},
                                                                 {"sentiment", head}};
  return MultiTaskModel(bert, heads, std::vector<PoolingMode>{PoolingMode::kMean});
}

// Names of the parameters that change in one AdamW step under POLICY.
std::set<std::string> changed_after_step(const std::string& policy) {
  torch::manual_seed(0);
  auto model = tiny_model();
  model->train();
  const auto trainable = apply_freeze(model, FreezePolicy::parse(policy));
  std::vector<at::Tensor> params = trainable.backbone;
  params.insert(params.end(), trainable.heads.begin(), trainable.heads.end());
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  std::map<std::string, at::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().detach().clone();
  const auto tokenizer = Tokenizer::from_dir(test::fixtures() / "tiny-bert-train");
  const std::vector<TaskBatch> batches = {
      collate(tokenizer, "category", {"Close the door.", "Is it raining?"}, {1, 2}, 64),
      collate(tokenizer, "sentiment", {"I love it.", "This is awful."}, {2, 0}, 64)};
  forward_backward(model, batches);
  optimizer.step();
  std::set<std::string> changed;
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) {
      EXPECT_FALSE(p.value().grad().defined()) << policy << ": frozen " << p.key() << " has grad";
    }
    if (!at::equal(before[p.key()], p.value())) changed.insert(p.key());
  }
  return changed;
}

std::set<std::string> all_names(const std::function<bool(const std::string&)>& keep) {
  std::set<std::string> names;
  for (const auto& p : tiny_model()->named_parameters()) {
    if (keep(p.key())) names.insert(p.key());
  }
  return names;
}

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

TEST(Freeze, ExactlyTheIntendedParametersChange) {
  EXPECT_EQ(changed_after_step("none"), all_names([](const std::string&) { return true; }));
  EXPECT_EQ(changed_after_step("backbone"),
            all_names([](const std::string& n) { return starts(n, "heads."); }));
  EXPECT_EQ(changed_after_step("head:category"),
            all_names([](const std::string& n) { return !starts(n, "heads.category."); }));
  EXPECT_EQ(changed_after_step("embeddings"),
            all_names([](const std::string& n) { return !starts(n, "bert.embeddings."); }));
  EXPECT_EQ(changed_after_step("layers:1"), all_names([](const std::string& n) {
              return !starts(n, "bert.embeddings.") && !starts(n, "bert.encoder.layer.0.");
            }));
}

TEST(Freeze, RefusesWhatCannotTrain) {
  auto model = tiny_model();
  try {
    apply_freeze(model, FreezePolicy::parse("all"));
    FAIL() << "freeze all must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mtst evaluate"), std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_freeze(model, FreezePolicy::parse("head:topic")), Error);
  EXPECT_THROW(apply_freeze(model, FreezePolicy::parse("layers:3")), Error);
  EXPECT_THROW(FreezePolicy::parse("layers:x"), Error);
  EXPECT_THROW(FreezePolicy::parse("heads"), Error);
  EXPECT_EQ(FreezePolicy::parse("layers:2").to_string(), "layers:2");
  EXPECT_EQ(FreezePolicy::parse("head:sentiment").to_string(), "head:sentiment");
}

}  // namespace
}  // namespace mtst
