// The training loop end to end on the tiny HF-made BERT and small slices of the bundled data:
// checkpoint contents and round trip, exact resume, early stopping, the frozen-backbone cache
// against the uncached path, logs, and refusals.
#include "mtst/train/trainer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mtst/error.h"
#include "mtst/io/json_file.h"
#include "mtst/io/tfevents.h"
#include "mtst/model/model_dir.h"
#include "mtst/model/predictor.h"
#include "mtst/model/weights.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::TempDir;

nlohmann::json tiny_config() { return test::tiny_train_config(); }

TrainConfig config_from(nlohmann::json j) { return TrainConfig::from_json(j, ".", "test config"); }

std::vector<at::Tensor> parameters(MultiTaskModel& model) {
  std::vector<at::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(Trainer, WritesCompleteCheckpointsThatLoadBackExactly) {
  TempDir dir;
  TrainerOptions options;
  options.output_dir = dir.path();
  options.progress = false;
  Trainer trainer(config_from(tiny_config()), options);
  const auto result = trainer.run();
  EXPECT_EQ(result.steps, 8);
  EXPECT_FALSE(result.early_stopped);
  for (const char* name : {"final", "last", "best-category", "best-sentiment"}) {
    const auto d = dir / name;
    for (const char* file : {"mtst.json", "modules.json", "config.json", "model.safetensors",
                             "1_Pooling/config.json", "sentence_bert_config.json",
                             "heads/category/model.safetensors", "heads/sentiment/config.json"}) {
      EXPECT_TRUE(std::filesystem::exists(d / file)) << name << "/" << file;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "last" / "optimizer.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "last" / "trainer_state.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "final" / "trainer_state.json"));

  // final/ holds exactly the trained weights.
  auto loaded = load_model_dir(dir / "final");
  const auto want = parameters(trainer.model());
  const auto got = parameters(loaded.model);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(at::equal(got[i], want[i])) << i;
  EXPECT_EQ(loaded.info.tasks[1].labels[2], "positive");

  // The backbone gets an (unused) pooler even though the fixture has none: transformers 5
  // reports a BERT checkpoint without it as missing weights. Initialised as HF does.
  const int64_t hidden = trainer.model()->bert->config().hidden_size;
  ASSERT_EQ(
      read_weight_file(find_weight_file(fixtures() / "tiny-bert-train")).count("pooler.dense.bias"),
      0u);
  const auto saved = read_weight_file(dir / "final" / "model.safetensors");
  ASSERT_TRUE(saved.count("pooler.dense.weight") && saved.count("pooler.dense.bias"));
  EXPECT_TRUE(saved.at("pooler.dense.weight").sizes().equals({hidden, hidden}));
  EXPECT_TRUE(at::equal(saved.at("pooler.dense.bias"), at::zeros({hidden})));
  EXPECT_NEAR(saved.at("pooler.dense.weight").std().item<double>(), 0.02, 0.005);

  // The predictor (inference path) gives the trainer's validation results.
  const auto validation = trainer.validate();
  const auto predictor = Predictor::load(dir / "final", ExecOptions{});
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  for (const auto& ex :
       load_task_data(TrainConfig(config_from(tiny_config())).tasks[0].splits.at("validation"))
           .examples) {
    texts.push_back(ex.text);
    labels.push_back(ex.label);
  }
  const auto logits = predictor.logits(predictor.head_inputs(texts, 8))[0];
  const auto loss = at::cross_entropy_loss(logits, at::tensor(labels, at::kLong)).item<double>();
  EXPECT_NEAR(loss, validation[0].loss, 1e-5);

  // Logs: one eval line per interval in metrics.jsonl, scalars in TensorBoard.
  std::ifstream metrics(dir / "metrics.jsonl");
  int evals = 0, trains = 0;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    (j.at("type") == "eval" ? evals : trains) += 1;
  }
  EXPECT_EQ(evals, 2);
  EXPECT_GE(trains, 1);
  std::vector<std::filesystem::path> event_files;
  for (const auto& e : std::filesystem::directory_iterator(dir / "tensorboard")) {
    event_files.push_back(e.path());
  }
  ASSERT_EQ(event_files.size(), 1u);
  bool saw_val_loss = false;
  for (const auto& s : read_tfevents_scalars(event_files[0])) {
    if (s.tag == "val/sentiment/loss" && s.step == 8) saw_val_loss = true;
  }
  EXPECT_TRUE(saw_val_loss);
}

TEST(Trainer, ResumedRunContinuesTheUninterruptedLossCurve) {
  TempDir whole, parts;
  TrainerOptions options;
  options.progress = false;
  options.output_dir = whole.path();
  Trainer uninterrupted(config_from(tiny_config()), options);
  uninterrupted.run();
  const auto curve = uninterrupted.loss_history();
  ASSERT_EQ(curve.size(), 8u);

  options.output_dir = parts.path();
  options.interrupt_after_steps = 3;  // mid-interval: last/ is written at the interruption
  {
    Trainer first(config_from(tiny_config()), options);
    first.run();
    EXPECT_EQ(first.step(), 3);
    EXPECT_FALSE(std::filesystem::exists(parts / "final"));
  }
  options.interrupt_after_steps = 0;
  options.resume = true;
  Trainer resumed(Trainer::resume_config(parts.path(), {}), options);
  EXPECT_EQ(resumed.step(), 3);
  resumed.run();
  const auto& rest = resumed.loss_history();
  ASSERT_EQ(rest.size(), 5u);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_DOUBLE_EQ(rest[i], curve[3 + i]) << "step " << 4 + i;
  }
  const auto a = parameters(uninterrupted.model());
  const auto b = parameters(resumed.model());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::allclose(a[i], b[i], 0, 1e-7)) << i;
}

TEST(Trainer, EarlyStoppingEndsTheRunAfterPatienceEvaluations) {
  auto j = tiny_config();
  // An improvement of more than 1.0 in accuracy is impossible: every evaluation after the
  // first counts as "no improvement".
  j["early_stopping"] = {{"monitor", "val_accuracy"}, {"patience", 2}, {"min_delta", 1.0}};
  j["training"]["eval_interval"] = 1;
  j["training"]["max_steps"] = 20;
  TrainerOptions options;
  options.progress = false;
  Trainer trainer(config_from(j), options);
  const auto result = trainer.run();
  EXPECT_TRUE(result.early_stopped);
  EXPECT_EQ(result.steps, 3);

  j["early_stopping"] = {{"monitor", "val_loss"}, {"patience", 0}};
  Trainer no_patience(config_from(j), options);
  const auto full = no_patience.run();
  EXPECT_FALSE(full.early_stopped);
  EXPECT_EQ(full.steps, 20);
}

TEST(Trainer, FrozenBackboneCacheEqualsRecomputingTheEncoder) {
  auto j = tiny_config();
  j["training"]["freeze"] = "backbone";
  TrainerOptions options;
  options.progress = false;
  Trainer cached(config_from(j), options);
  options.cache_embeddings = false;
  Trainer uncached(config_from(j), options);
  cached.run_steps(6);
  uncached.run_steps(6);
  EXPECT_GT(cached.cache_seconds(), 0.0);
  EXPECT_EQ(uncached.cache_seconds(), 0.0);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(cached.loss_history()[i], uncached.loss_history()[i], 1e-5) << i;
  }
  const auto a = parameters(cached.model());
  const auto b = parameters(uncached.model());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE((a[i] - b[i]).abs().max().item<double>(), 1e-5) << i;
  }
}

TEST(Trainer, RefusesWhatItCannotTrain) {
  auto j = tiny_config();
  j["training"]["freeze"] = "all";
  TrainerOptions options;
  options.progress = false;
  try {
    Trainer trainer(config_from(j), options);
    FAIL() << "freeze all was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mtst evaluate"), std::string::npos) << e.what();
  }

  TempDir dir;
  options.output_dir = dir.path();
  j["training"]["freeze"] = "none";
  j["training"]["max_steps"] = 1;
  Trainer(config_from(j), options).run();
  try {
    Trainer again(config_from(j), options);
    FAIL() << "an existing run was overwritten";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  options.overwrite = true;
  EXPECT_NO_THROW(Trainer(config_from(j), options));

  TempDir empty;
  options.output_dir = empty.path();
  options.resume = true;
  EXPECT_THROW(Trainer(config_from(j), options), Error);
}

}  // namespace
}  // namespace mtst
