// The train / predict / evaluate / bench train commands end to end through the mtst binary on
// the tiny fixture model: outputs agree with each other and with hand-computed accuracy, and
// bad configs or flags give one clear error and a non-zero exit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "mtst/train/task_data.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::run_mtst;
using test::TempDir;

std::string q(const std::filesystem::path& p) { return test::quoted(p); }

// The shared tiny config, 6 steps with validation every 3.
nlohmann::json tiny_config() {
  auto config = test::tiny_train_config();
  config["training"]["max_steps"] = 6;
  config["training"]["eval_interval"] = 3;
  return config;
}

class TrainedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    test::write_file(*tmp_ / "config.json", tiny_config().dump());
    const auto r = run_mtst("train --quiet --config " + q(*tmp_ / "config.json") + " --output " +
                            q(*tmp_ / "run"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete tmp_; }
  static std::filesystem::path model() { return *tmp_ / "run" / "final"; }
  static TempDir* tmp_;
};
TempDir* TrainedModel::tmp_ = nullptr;

TEST_F(TrainedModel, PredictTextBlocksAndJsonlAgree) {
  const std::string input = "Close the door.\nIs it raining?\nI love this!\n";
  const auto text = run_mtst("predict --model " + q(model()), input);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const auto jsonl = run_mtst("predict --format jsonl --embeddings --model " + q(model()), input);
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  std::istringstream lines(jsonl.out);
  std::string line, expected_text;
  const std::set<std::string> categories{"declarative", "imperative", "question"};
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    double sum = 0, best = -1;
    std::string argmax;
    for (const auto& [label, p] : j["sentiment"]["scores"].items()) {
      sum += p.get<double>();
      if (p.get<double>() > best) best = p.get<double>(), argmax = label;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(j["sentiment"]["label"], argmax);
    EXPECT_TRUE(categories.count(j["category"]["label"].get<std::string>()));
    EXPECT_EQ(j["embedding"].size(), 32u);
    expected_text += "\nSentence: " + j["text"].get<std::string>() +
                     "\nCategory: " + j["category"]["label"].get<std::string>() +
                     "\nSentiment: " + j["sentiment"]["label"].get<std::string>() + "\n" +
                     std::string(80, '-') + "\n";
    ++n;
  }
  EXPECT_EQ(n, 3);
  EXPECT_EQ(text.out, expected_text);
  const auto bad = run_mtst("predict --embeddings --model " + q(model()), input);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--format jsonl"), std::string::npos) << bad.err;
}

TEST_F(TrainedModel, PredictOnEmptyInputPrintsNothing) {
  // Found by the disk-full test: no rows reached a oneDNN matmul, which divided by zero.
  for (const char* format : {"text", "jsonl"}) {
    const auto r = run_mtst(std::string("predict --format ") + format + " --model " + q(model()));
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_EQ(r.out, "") << format;
    EXPECT_EQ(r.err, "") << format;
  }
}

TEST_F(TrainedModel, EvaluateAccuracyMatchesPredictions) {
  const auto test_file = fixtures() / "train-data" / "sentiment_test.csv";
  TaskDataSpec spec{test_file.string(), "text", "label", {"negative", "neutral", "positive"}};
  const auto data = load_task_data(spec);
  nlohmann::json inputs;
  std::string jsonl_in;
  for (const auto& ex : data.examples) jsonl_in += nlohmann::json{{"text", ex.text}}.dump() + "\n";
  test::write_file(*tmp_ / "in.jsonl", jsonl_in);
  const auto pred = run_mtst("predict --format jsonl --model " + q(model()) + " --input " +
                             q(*tmp_ / "in.jsonl"));
  ASSERT_EQ(pred.exit_code, 0) << pred.err;
  std::istringstream lines(pred.out);
  std::string line;
  size_t i = 0, correct = 0;
  while (std::getline(lines, line)) {
    const auto label = nlohmann::json::parse(line)["sentiment"]["label"].get<std::string>();
    if (label == spec.labels[static_cast<size_t>(data.examples[i].label)]) ++correct;
    ++i;
  }
  ASSERT_EQ(i, data.examples.size());

  const auto eval = run_mtst("evaluate --format json --split test --model " + q(model()) +
                             " --output " + q(*tmp_ / "eval.json"));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto report = nlohmann::json::parse(eval.out);
  EXPECT_EQ(report, nlohmann::json::parse(test::read_file(*tmp_ / "eval.json")));
  const auto& sentiment = report["tasks"][1];
  EXPECT_EQ(sentiment["task"], "sentiment");
  EXPECT_EQ(sentiment["examples"], data.examples.size());
  EXPECT_DOUBLE_EQ(sentiment["accuracy"].get<double>(),
                   static_cast<double>(correct) / static_cast<double>(i));
  size_t diagonal = 0;
  for (size_t c = 0; c < 3; ++c)
    diagonal += sentiment["confusion_matrix"]["rows"][c][c].get<size_t>();
  EXPECT_EQ(diagonal, correct);

  const auto one =
      run_mtst("evaluate --model " + q(model()) + " --task sentiment --data " + q(test_file));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("confusion matrix"), std::string::npos);
  EXPECT_EQ(one.out.find("category"), std::string::npos);
  const auto half = run_mtst("evaluate --model " + q(model()) + " --data " + q(test_file));
  EXPECT_EQ(half.exit_code, 1);
  EXPECT_NE(half.err.find("--task"), std::string::npos) << half.err;
}

TEST_F(TrainedModel, ResumeOfAFinishedRunAndBenchTrain) {
  const auto resumed = run_mtst("train --quiet --resume " + q(*tmp_ / "run" / "last") +
                                " --set training.max_steps=8");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("trained 8 steps"), std::string::npos) << resumed.err;
  const auto bench =
      run_mtst("bench train --steps 2 --warmup 1 --config " + q(*tmp_ / "config.json"));
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto j = nlohmann::json::parse(bench.out);
  EXPECT_EQ(j["samples"], 2 * 2 * 8);
  EXPECT_GT(j["samples_per_s"].get<double>(), 0.0);
}

TEST(CliTrain, BadConfigsGiveOneClearError) {
  TempDir tmp;
  auto config = tiny_config();
  config["training"]["bacth_size"] = 4;
  test::write_file(tmp / "typo.json", config.dump());
  auto r = run_mtst("train --config " + q(tmp / "typo.json") + " --output " + q(tmp / "o"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bacth_size"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "o" / "final"));

  config = tiny_config();
  config["tasks"][0]["files"]["train"] = (tmp / "missing.csv").string();
  test::write_file(tmp / "missing.json", config.dump());
  r = run_mtst("train --config " + q(tmp / "missing.json") + " --output " + q(tmp / "o"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;

  r = run_mtst("train --config " + q(tmp / "typo.json") + " --set optimizer.lr_heads");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("lr_heads"), std::string::npos) << r.err;

  r = run_mtst("train --resume " + q(tmp / "nowhere"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;

  r = run_mtst("predict --model " + q(fixtures() / "tiny-bert-st"), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mtst.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mtst
