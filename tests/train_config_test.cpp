// Tests for the training configuration: configs/quickstart.json parses and round-trips, every
// class of bad config is an mtst::Error naming the key, "--set" overrides, and relative paths
// resolve against the config file's directory.
#include "mtst/train/train_config.h"

#include <gtest/gtest.h>

#include <functional>

#include "mtst/error.h"
#include "test_util.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path repo() { return fs::path(MTST_FIXTURES_DIR "/../..").lexically_normal(); }

json minimal() {
  return json::parse(R"({
    "backbone": {"init": "random", "config": "bert.json"},
    "tasks": [
      {"name": "a", "files": {"train": "a.csv"}, "labels": ["x", "y"]},
      {"name": "b", "files": {"train": "b.csv", "test": "b_test.csv"}, "labels": ["p", "q", "r"]}
    ]
  })");
}

// from_json(mutated minimal()) must throw an Error whose message contains every NEEDLE.
void expect_error(const std::function<void(json&)>& mutate,
                  const std::vector<std::string>& needles) {
  json j = minimal();
  mutate(j);
  try {
    TrainConfig::from_json(j, "/cfgdir", "cfg.json");
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& needle : needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
    }
    EXPECT_EQ(msg.rfind("cfg.json", 0), 0u) << msg;
  }
}

TEST(TrainConfig, QuickstartParsesAndRoundTrips) {
  const TrainConfig c = TrainConfig::from_file(repo() / "configs/quickstart.json");
  EXPECT_EQ(c.backbone_init, "random");
  EXPECT_TRUE(fs::exists(c.backbone_config)) << c.backbone_config;
  ASSERT_EQ(c.tasks.size(), 2u);
  EXPECT_EQ(c.tasks[0].name, "category");
  EXPECT_EQ(c.tasks[1].name, "sentiment");
  EXPECT_EQ(c.tasks[1].splits.at("train").labels,
            (std::vector<std::string>{"negative", "neutral", "positive"}));
  for (const auto& task : c.tasks) {
    ASSERT_EQ(task.splits.size(), 3u);
    for (const auto& [split, spec] : task.splits) {
      EXPECT_TRUE(fs::path(spec.path).is_absolute()) << spec.path;
      EXPECT_TRUE(fs::exists(spec.path)) << spec.path;
    }
  }
  const json j = c.to_json();
  const TrainConfig again = TrainConfig::from_json(j, "/elsewhere", "round trip");
  EXPECT_EQ(again.to_json(), j);
  EXPECT_EQ(again.tasks[0].splits.at("validation").path, c.tasks[0].splits.at("validation").path);
  EXPECT_EQ(again.pooling, c.pooling);
  EXPECT_EQ(again.lr_backbone, c.lr_backbone);
  EXPECT_EQ(again.seed, c.seed);
}

TEST(TrainConfig, DefaultsAndFullRoundTrip) {
  json j = minimal();
  j["backbone"] = {{"model", "/models/m"}, {"pooling", {"cls", "max"}}, {"max_seq_length", 16}};
  j["tasks"][1]["class_weights"] = {1.0, 2.5, 0.5};
  j["training"] = {{"seed", 18446744073709551615ull}, {"precision", "bf16"}, {"freeze", "head:b"}};
  j["sampling"] = {{"strategy", "temperature"}, {"temperature", 3.0}};
  const TrainConfig c = TrainConfig::from_json(j, "/cfgdir", "cfg.json");
  EXPECT_EQ(c.backbone_model_dir, "/models/m");
  EXPECT_EQ(c.pooling, (std::vector<PoolingMode>{PoolingMode::kCls, PoolingMode::kMax}));
  EXPECT_EQ(c.seed, 18446744073709551615ull);
  EXPECT_EQ(c.precision, Precision::kBf16);
  EXPECT_EQ(c.sampling, SamplingStrategy::kTemperature);
  EXPECT_EQ(c.batch_size, 32u);
  EXPECT_EQ(c.lr_heads, 1e-3);
  EXPECT_EQ(c.tasks[0].head.hidden_size, 256);
  EXPECT_EQ(c.tasks[1].class_weights, (std::vector<double>{1.0, 2.5, 0.5}));
  EXPECT_EQ(c.tasks[1].splits.count("validation"), 0u);
  EXPECT_EQ(c.tasks[1].splits.at("test").path, "/cfgdir/b_test.csv");
  const TrainConfig again = TrainConfig::from_json(c.to_json(), "/x", "rt");
  EXPECT_EQ(again.to_json(), c.to_json());
}

TEST(TrainConfig, BadConfigsNameTheKey) {
  expect_error([](json& j) { j["optimiser"] = json::object(); }, {"optimiser", "unknown key"});
  expect_error([](json& j) { j["optimizer"] = {{"lr_head", 1e-3}}; }, {"lr_head", "unknown"});
  expect_error([](json& j) { j["tasks"][0]["head"] = {{"droput", 0.2}}; }, {"droput"});
  expect_error(
      [](json& j) {
        j["tasks"][0]["files"] = {{"validation", "v.csv"}};
      },
      {"'train'", "task 'a'"});
  expect_error([](json& j) { j["tasks"][0].erase("files"); }, {"files"});
  expect_error([](json& j) { j["tasks"][1]["name"] = "a"; }, {"name", "'a'", "unique"});
  expect_error([](json& j) { j["tasks"][0]["labels"] = {"x"}; }, {"labels", "at least 2"});
  expect_error([](json& j) { j["tasks"][0]["labels"] = {"x", "y", "x"}; }, {"labels", "twice"});
  expect_error([](json& j) { j["tasks"][0].erase("labels"); }, {"labels"});
  expect_error([](json& j) { j["tasks"] = json::array(); }, {"tasks"});
  expect_error([](json& j) { j["optimizer"] = {{"lr_heads", 0}}; }, {"lr_heads", "> 0"});
  expect_error([](json& j) { j["optimizer"] = {{"lr_backbone", -1e-5}}; }, {"lr_backbone"});
  expect_error([](json& j) { j["optimizer"] = {{"beta1", 1.0}}; }, {"beta1", "[0, 1)"});
  expect_error([](json& j) { j["optimizer"] = {{"beta2", -0.1}}; }, {"beta2"});
  expect_error([](json& j) { j["training"] = {{"batch_size", 0}}; }, {"batch_size"});
  expect_error([](json& j) { j["training"] = {{"batch_size", "32"}}; }, {"batch_size"});
  expect_error([](json& j) { j["training"] = {{"max_epochs", 0}}; }, {"max_epochs"});
  expect_error([](json& j) { j["training"] = {{"freeze", "head:nope"}}; }, {"freeze", "nope"});
  expect_error([](json& j) { j["training"] = {{"freeze", "layers:x"}}; }, {"freeze"});
  expect_error([](json& j) { j["training"] = {{"freeze", "bogus"}}; }, {"freeze", "bogus"});
  expect_error([](json& j) { j["training"] = {{"precision", "fp16"}}; }, {"precision", "fp16"});
  expect_error([](json& j) { j["backbone"]["pooling"] = {"avg"}; }, {"pooling", "avg"});
  expect_error([](json& j) { j["sampling"] = {{"strategy", "random"}}; }, {"strategy"});
  expect_error([](json& j) { j["schedule"] = {{"type", "step"}}; }, {"type", "cosine"});
  expect_error(
      [](json& j) {
        j["tasks"][1]["class_weights"] = {1.0, 2.0};
      },
      {"class_weights", "3 labels"});
  expect_error(
      [](json& j) {
        j["tasks"][1]["class_weights"] = {1.0, 0.0, 1.0};
      },
      {"class_weights"});
  expect_error([](json& j) { j["tasks"][0]["head"] = {{"activation", "swish"}}; }, {"activation"});
  expect_error([](json& j) { j["backbone"]["model"] = "/m"; }, {"'model'", "'init'", "both"});
  expect_error([](json& j) { j["backbone"] = json::object(); }, {"'model'", "'init'"});
  expect_error([](json& j) { j["backbone"].erase("config"); }, {"config"});
  expect_error([](json& j) { j["backbone"]["init"] = "pretrained"; }, {"init"});
  expect_error([](json& j) { j.erase("backbone"); }, {"backbone"});
  expect_error([](json& j) { j["early_stopping"] = {{"monitor", "loss"}}; }, {"monitor"});
}

TEST(TrainConfig, FreezeSyntaxAccepted) {
  for (const std::string freeze :
       {"none", "backbone", "all", "embeddings", "head:a", "head:b", "layers:3"}) {
    json j = minimal();
    j["training"] = {{"freeze", freeze}};
    EXPECT_EQ(TrainConfig::from_json(j, "/d", "cfg.json").freeze, freeze);
  }
}

TEST(TrainConfig, Overrides) {
  json j = minimal();
  apply_override(j, "optimizer.lr_heads=5e-4");
  apply_override(j, "training.precision=bf16");
  apply_override(j, "training.batch_size=8");
  apply_override(j, "tasks.b.head.dropout=0.2");
  apply_override(j, "tasks.a.skip_bad_rows=false");
  apply_override(j, "tasks.a.labels=[\"u\",\"v\",\"w\"]");
  apply_override(j, "backbone.pooling=max");
  apply_override(j, "schedule.type=cosine");
  const TrainConfig c = TrainConfig::from_json(j, "/d", "cfg.json");
  EXPECT_EQ(c.lr_heads, 5e-4);
  EXPECT_EQ(c.precision, Precision::kBf16);
  EXPECT_EQ(c.batch_size, 8u);
  EXPECT_EQ(c.tasks[1].head.dropout, 0.2);
  EXPECT_EQ(c.tasks[0].head.dropout, 0.1);
  EXPECT_FALSE(c.tasks[0].splits.at("train").skip_bad_rows);
  EXPECT_EQ(c.tasks[0].splits.at("train").labels.size(), 3u);
  EXPECT_EQ(c.pooling, std::vector<PoolingMode>{PoolingMode::kMax});
  EXPECT_EQ(c.schedule, "cosine");

  auto expect_override_error = [](const std::string& assignment, const std::string& needle) {
    json j = minimal();
    try {
      apply_override(j, assignment);
      ADD_FAILURE() << "no error for " << assignment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_override_error("optimizer.lr_hedas=1", "lr_hedas");
  expect_override_error("optimiser.lr_heads=1", "optimiser");
  expect_override_error("tasks.zzz.loss_weight=2", "zzz");
  expect_override_error("tasks.a.head.depth=2", "depth");
  expect_override_error("optimizer.lr_heads.x=1", "lr_heads");
  expect_override_error("optimizer.lr_heads", "key=value");
  expect_override_error("optimizer..lr_heads=1", "empty");
}

// Found by fuzz/train_config_fuzz.cpp: a value that is neither JSON nor UTF-8 used to become a
// string that no JSON writer could print, and the message about it aborted the process.
TEST(TrainConfig, OverrideThatIsNotUtf8IsAnError) {
  json j = minimal();
  try {
    apply_override(j,
                   "tasks.a.head.dropout=5.\xfd\xff"
                   "5");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
  apply_override(j, "tasks.a.head.activation=gelu");  // a plain string value still works
  EXPECT_EQ(j["tasks"][0]["head"]["activation"], "gelu");
}

TEST(TrainConfig, FromFileWithOverridesAndRelativePaths) {
  test::TempDir dir;
  fs::create_directories(dir / "configs");
  json j = minimal();
  j["tasks"][0]["files"] = {{"train", "../data/a/train.csv"}, {"validation", "/abs/v.csv"}};
  test::write_file(dir / "configs" / "run.json", j.dump(2));
  const TrainConfig c =
      TrainConfig::from_file(dir / "configs" / "run.json", {"tasks.b.loss_weight=0.5"});
  const fs::path root = fs::absolute(dir.path()).lexically_normal();
  EXPECT_EQ(c.tasks[0].splits.at("train").path, (root / "data/a/train.csv").string());
  EXPECT_EQ(c.tasks[0].splits.at("validation").path, "/abs/v.csv");
  EXPECT_EQ(c.tasks[1].splits.at("train").path, (root / "configs/b.csv").string());
  EXPECT_EQ(c.backbone_config, (root / "configs/bert.json").string());
  EXPECT_EQ(c.tasks[1].loss_weight, 0.5);

  try {
    TrainConfig::from_file(dir / "configs" / "run.json", {"training.batch_size=0"});
    ADD_FAILURE() << "batch_size 0 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TrainConfig::from_file(dir / "missing.json"), Error);
}

TEST(TrainConfig, SeedRecipeIsTheSeedsPlan) {
  // configs/seed-recipe.json is the seed exercise's own training recipe:
  // frozen backbone, AdamW at a constant 1e-4, oversampling, early stop on combined val loss.
  const TrainConfig c = TrainConfig::from_file(repo() / "configs/seed-recipe.json");
  EXPECT_EQ(c.freeze, "backbone");
  EXPECT_DOUBLE_EQ(c.lr_heads, 1e-4);
  EXPECT_EQ(c.schedule, "constant");
  EXPECT_EQ(c.grad_clip, 0.0);
  EXPECT_EQ(c.sampling, SamplingStrategy::kOversample);
  EXPECT_EQ(c.early_stopping_monitor, "val_loss");
  EXPECT_EQ(c.patience, 3);
  EXPECT_EQ(c.batch_size, 32u);
  ASSERT_EQ(c.tasks.size(), 2u);
  for (const auto& task : c.tasks) {
    EXPECT_EQ(task.head.hidden_size, 256);
    EXPECT_EQ(task.head.activation, "relu");
    EXPECT_EQ(task.head.dropout, 0.0);
    EXPECT_EQ(task.loss_weight, 1.0);
  }
}

}  // namespace
}  // namespace mtst
