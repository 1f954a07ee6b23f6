// The mtst binary end to end: tokenize/encode/bench outputs, input formats, and bad inputs
// (missing or corrupt model files, bad config, invalid UTF-8, empty lines, bad flags) giving
// one clear message and a non-zero exit, never a crash or a partial output file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/ops/exec_plan.h"
#include "mtst/runtime/exec_options.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::run_mtst;
using test::TempDir;

std::string q(const std::filesystem::path& p) { return test::quoted(p); }

// A copy of a fixture model dir that a test may damage.
std::filesystem::path copy_model(const TempDir& tmp, const std::string& name) {
  const auto dst = tmp / name;
  std::filesystem::copy(fixtures() / name, dst, std::filesystem::copy_options::recursive);
  for (auto& e : std::filesystem::recursive_directory_iterator(dst)) {
    std::filesystem::permissions(e.path(), std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
  }
  return dst;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Cli, TokenizeEmptyLinesAndInvalidUtf8) {
  const auto r = run_mtst("tokenize --model " + q(fixtures() / "tokenizer"),
                          "Hello world!\n\nab\xff"
                          "cd\r\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["ids"], nlohmann::json({101, 102}));  // empty line: [CLS] [SEP]
  // The invalid byte is dropped (U+FFFD removed by BERT's clean-up): same as "abcd".
  const auto abcd = run_mtst("tokenize --model " + q(fixtures() / "tokenizer"), "abcd\n");
  EXPECT_EQ(lines[2], json_lines(abcd.out)[0]);
}

TEST(Cli, TokenizeJsonlInputKeepsNewlinesAndOrder) {
  TempDir tmp;
  test::write_file(tmp / "in.jsonl", "{\"text\": \"a\\nb\"}\n\n{\"text\": \"hello\"}\n");
  const auto r = run_mtst("tokenize --model " + q(fixtures() / "tokenizer") + " --input " +
                          q(tmp / "in.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["ids"].size(), 4u);  // [CLS] a b [SEP]
}

TEST(Cli, JsonlLineWithoutTextIsAnErrorNamingTheLine) {
  TempDir tmp;
  test::write_file(tmp / "in.jsonl", "{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n");
  const auto r = run_mtst("encode --model " + q(fixtures() / "tiny-bert-st") + " --input " +
                          q(tmp / "in.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in.jsonl:2"), std::string::npos) << r.err;
}

TEST(Cli, EncodeNpyMatchesJsonlAndReportsTruncation) {
  TempDir tmp;
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  test::write_file(tmp / "in.txt", "A short sentence.\n" + long_text + "\n");
  const auto model = q(fixtures() / "tiny-bert-st");
  const auto npy = run_mtst("encode --model " + model + " --input " + q(tmp / "in.txt") +
                            " --output " + q(tmp / "out.npy"));
  ASSERT_EQ(npy.exit_code, 0) << npy.err;
  EXPECT_NE(npy.err.find("1 of 2 inputs were longer than 64 tokens"), std::string::npos) << npy.err;
  const auto bytes = test::read_file(tmp / "out.npy");
  ASSERT_GE(bytes.size(), 128u + 2 * 32 * 4);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_NE(bytes.find("'shape': (2, 32)"), std::string::npos);
  const auto stdout_run = run_mtst("encode --model " + model + " --input " + q(tmp / "in.txt"));
  ASSERT_EQ(stdout_run.exit_code, 0);
  const auto lines = json_lines(stdout_run.out);
  ASSERT_EQ(lines.size(), 2u);
  const size_t data = bytes.size() - 2 * 32 * 4;
  for (int j = 0; j < 32; ++j) {
    float v;
    std::memcpy(&v, bytes.data() + data + 4 * j, 4);
    EXPECT_EQ(v, lines[0]["embedding"][j].get<float>());
  }
}

TEST(Cli, EncodeEmptyInputWritesAnEmptyResult) {
  TempDir tmp;
  const auto model = q(fixtures() / "tiny-bert-st");
  const auto npy = run_mtst("encode --model " + model + " --output " + q(tmp / "e.npy"), "");
  ASSERT_EQ(npy.exit_code, 0) << npy.err;
  const auto bytes = test::read_file(tmp / "e.npy");
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_NE(bytes.find("'shape': (0, 32)"), std::string::npos) << bytes;
  EXPECT_EQ(bytes.size() % 64, 0u);  // header only, no rows
  const auto jsonl = run_mtst("encode --model " + model + " --output " + q(tmp / "e.jsonl"), "");
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_EQ(test::read_file(tmp / "e.jsonl"), "");
  const auto out = run_mtst("encode --model " + model, "");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "");
}

TEST(Cli, Bf16IsRefusedWhereTheCpuHasNoKernels) {
  const auto r = run_mtst("encode --precision bf16 --model " + q(fixtures() / "tiny-bert-st"),
                          "Hello world\n");
  if (precision_supported(Precision::kBf16)) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_lines(r.out).size(), 1u);
  } else {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "mtst: error: precision bf16 is not available on this CPU: oneDNN has no bf16 "
              "kernels for it (they need AVX-512); use fp32, or auto (bf16 only where the CPU "
              "has it natively)\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(precision_supported(parse_precision("auto")));  // auto never picks what can't run
}

TEST(Cli, Fp16IsRefusedOnTheCpuInOneLine) {
  for (const std::string command : {"encode", "predict", "serve --port 0"}) {
    const auto r = run_mtst(command + " --precision fp16 --model " + q(fixtures() / "tiny-bert-st"),
                            "Hello world\n");
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.err,
              "mtst: error: precision fp16 runs on CUDA devices only (--device cuda); on the CPU "
              "use bf16 (where the CPU has it) or fp32\n")
        << command;
    EXPECT_EQ(r.out, "") << command;
  }
}

TEST(Cli, MaxBatchTokensGivesTheSameEmbeddings) {
  const auto model = q(fixtures() / "tiny-bert-st");
  const std::string input = "One.\nA second sentence, a little longer.\nThree words here.\n";
  const auto plain = run_mtst("encode --model " + model, input);
  const auto budget =
      run_mtst("encode --max-batch-tokens 12 --batch-size 64 --model " + model, input);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(budget.exit_code, 0) << budget.err;
  const auto a = json_lines(plain.out), b = json_lines(budget.out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i].at("embedding"), &y = b[i].at("embedding");
    ASSERT_EQ(x.size(), y.size());
    for (size_t k = 0; k < x.size(); ++k) {
      EXPECT_NEAR(x[k].get<double>(), y[k].get<double>(), 1e-5) << i << "," << k;
    }
  }
}

TEST(Cli, BadOutputExtensionFailsBeforeWork) {
  TempDir tmp;
  const auto r = run_mtst(
      "encode --model " + q(fixtures() / "tiny-bert-st") + " --output " + q(tmp / "out.csv"),
      "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expected .npy or .jsonl"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out.csv"));
}

TEST(Cli, MissingModelDirectory) {
  const auto r = run_mtst("encode --model /nonexistent/model", "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
}

TEST(Cli, MissingWeights) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  std::filesystem::remove(dir / "model.safetensors");
  const auto r = run_mtst("encode --model " + q(dir), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no weights found"), std::string::npos) << r.err;
}

TEST(Cli, TruncatedSafetensorsInModelDir) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  const auto bytes = test::read_file(dir / "model.safetensors");
  test::write_file(dir / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  const auto r = run_mtst("encode --model " + q(dir) + " --output " + q(tmp / "o.npy"), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "o.npy"));
}

TEST(Cli, ConfigMissingKeyIsNamed) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  auto config = read_json_file(dir / "config.json");
  config.erase("num_attention_heads");
  test::write_file(dir / "config.json", config.dump());
  const auto r = run_mtst("encode --model " + q(dir), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("num_attention_heads"), std::string::npos) << r.err;
}

TEST(Cli, WrongShapesAreListed) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  auto config = read_json_file(dir / "config.json");
  config["intermediate_size"] = 48;
  test::write_file(dir / "config.json", config.dump());
  const auto r = run_mtst("encode --model " + q(dir), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("wrong shape"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("encoder.layer.0.intermediate.dense.weight"), std::string::npos) << r.err;
}

TEST(Cli, MissingAndUnexpectedWeightsAreListed) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  auto tensors = read_safetensors(dir / "model.safetensors");
  auto moved = tensors.at("encoder.layer.1.output.dense.bias");
  tensors.erase("encoder.layer.1.output.dense.bias");
  tensors.emplace("encoder.layer.1.output.dense.bais", moved);
  write_safetensors(dir / "model.safetensors", tensors);
  const auto r = run_mtst("encode --model " + q(dir), "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing (1): encoder.layer.1.output.dense.bias"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("unexpected (1): encoder.layer.1.output.dense.bais"), std::string::npos)
      << r.err;
}

TEST(Cli, BertPrefixAndPositionIdsAreHandled) {
  TempDir tmp;
  const auto dir = copy_model(tmp, "tiny-bert-hf");
  const auto plain = run_mtst("encode --model " + q(dir), "Hello there.\n");
  auto tensors = read_safetensors(dir / "model.safetensors");
  TensorMap prefixed;
  for (auto& kv : tensors) prefixed.emplace("bert." + kv.first, kv.second);
  prefixed.emplace("bert.embeddings.position_ids", at::arange(64, at::kLong).unsqueeze(0));
  prefixed.emplace("cls.predictions.bias", at::zeros({30522}));
  write_safetensors(dir / "model.safetensors", prefixed);
  const auto r = run_mtst("encode --model " + q(dir), "Hello there.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_mtst("encode").exit_code, 2);  // --model is required
  EXPECT_EQ(run_mtst("encode --model x --precision fp64").exit_code, 2);
  EXPECT_EQ(run_mtst("frobnicate").exit_code, 2);
}

TEST(Cli, HelpListsEveryOptionWithDefaults) {
  const auto r = run_mtst("encode --help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* opt : {"--model", "--input", "--output", "--batch-size", "--max-seq-length",
                          "--pooling", "--normalize", "--precision", "--threads"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
  EXPECT_NE(r.out.find("32"), std::string::npos);  // batch size default shown
  EXPECT_NE(r.out.find("fp32"), std::string::npos);
  const auto b = run_mtst("bench encode --help");
  for (const char* opt : {"--model", "--config", "--random-init", "--input", "--precision",
                          "--batch-size", "--threads", "--seconds"}) {
    EXPECT_NE(b.out.find(opt), std::string::npos) << opt;
  }
}

TEST(Cli, BenchEncodePrintsThroughput) {
  const auto r =
      run_mtst("bench encode --model " + q(fixtures() / "tiny-bert-st") + " --seconds 0 --input -",
               "one sentence\nanother one\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sentences"], 2);
  EXPECT_GT(j["sentences_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0.0);
}

}  // namespace
}  // namespace mtst
