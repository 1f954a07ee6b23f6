// The error-path sweep of the CLI: every bad input a user can reach (missing, empty, corrupt or
// wrongly typed files; impossible configs; unwritable outputs; unknown devices) must end with
// exit 1 and one line "mtst: error: ..." naming the problem: never "internal error", a libtorch
// backtrace, a signal or a second line of noise. One table, one contract.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/io/json_file.h"
#include "test_util.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using test::fixtures;
using test::TempDir;

std::string q(const fs::path& p) { return test::quoted(p); }

// A writable copy of a fixture model.
fs::path copy_model(const TempDir& tmp, const std::string& name) {
  const auto dst = tmp / ("copy-" + name);
  fs::copy(fixtures() / name, dst, fs::copy_options::recursive);
  for (auto& e : fs::recursive_directory_iterator(dst)) {
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  return dst;
}

// The tiny-bert-st copy with FILE's JSON changed by EDIT.
fs::path model_with_json(const TempDir& tmp, const std::string& file,
                         const std::function<void(nlohmann::json&)>& edit) {
  const auto dir = copy_model(tmp, "tiny-bert-st");
  auto j = read_json_file(dir / file);
  edit(j);
  test::write_file(dir / file, j.dump());
  return dir;
}

// `encode` on a tiny-bert-st copy whose FILE holds BYTES.
std::string encode_with_file(const TempDir& tmp, const std::string& file,
                             const std::string& bytes) {
  const auto dir = copy_model(tmp, "tiny-bert-st");
  test::write_file(dir / file, bytes);
  return "encode --model " + q(dir);
}

// `encode` on a tiny-bert-st copy after DAMAGE(dir).
std::string encode_damaged(const TempDir& tmp, const std::function<void(const fs::path&)>& damage) {
  const auto dir = copy_model(tmp, "tiny-bert-st");
  damage(dir);
  return "encode --model " + q(dir);
}

// A tiny training config with EDIT applied, written to the temp dir; returns its path.
fs::path train_config(const TempDir& tmp, const std::function<void(nlohmann::json&)>& edit) {
  auto j = test::tiny_train_config();
  edit(j);
  test::write_file(tmp / "train.json", j.dump());
  return tmp / "train.json";
}

struct ErrorCase {
  std::string name;
  // Prepares files in the temp dir; returns the mtst arguments.
  std::function<std::string(const TempDir&)> args;
  std::string expected;  // a part of the one error line
  std::string input = "hello world\n";
};

const std::vector<ErrorCase>& cases() {
  const std::string st = q(fixtures() / "tiny-bert-st");
  static const std::vector<ErrorCase> all = {
      {"ModelDirIsAFile",
       [](const TempDir&) { return "encode --model " + q(fixtures() / "README.md"); }, "README.md"},
      {"ConfigIsNotAnObject",
       [](const TempDir& t) { return encode_with_file(t, "config.json", "[1, 2]"); },
       "config.json"},
      {"ConfigDropoutAboveOne",
       [](const TempDir& t) {
         return "encode --model " + q(model_with_json(t, "config.json", [](auto& j) {
                  j["hidden_dropout_prob"] = 2.0;
                }));
       },
       "hidden_dropout_prob"},
      {"ConfigHugeVocabulary",
       [](const TempDir& t) {
         return "encode --model " + q(model_with_json(t, "config.json", [](auto& j) {
                  j["vocab_size"] = 1000000000000LL;
                }));
       },
       "vocab_size"},
      {"WeightsFileIsEmpty",
       [](const TempDir& t) { return encode_with_file(t, "model.safetensors", ""); },
       "model.safetensors"},
      {"WeightsFileIsADirectory",
       [](const TempDir& t) {
         return encode_damaged(t, [](const fs::path& dir) {
           fs::remove(dir / "model.safetensors");
           fs::create_directory(dir / "model.safetensors");
         });
       },
       "model.safetensors"},
      {"TokenizerJsonIsBroken",
       [](const TempDir& t) { return encode_with_file(t, "tokenizer.json", "{\"model\": "); },
       "tokenizer.json"},
      {"NoTokenizerFiles",
       [](const TempDir& t) {
         return encode_damaged(t, [](const fs::path& dir) { fs::remove(dir / "tokenizer.json"); });
       },
       "tokenizer"},
      {"ModulesJsonIsGarbage",
       [](const TempDir& t) { return encode_with_file(t, "modules.json", "\x01\x02 not json"); },
       "modules.json"},
      {"PoolingModeUnknown",
       [](const TempDir& t) {
         return "encode --model " + q(model_with_json(t, "1_Pooling/config.json", [](auto& j) {
                  j["pooling_mode"] = "median";
                }));
       },
       "pooling"},
      {"InputFileMissing",
       [st](const TempDir& t) { return "encode --model " + st + " --input " + q(t / "none.txt"); },
       "none.txt"},
      {"InputIsADirectory",
       [st](const TempDir& t) { return "encode --model " + st + " --input " + q(t.path()); },
       "is a directory"},
      {"OutputDirectoryMissing",
       [st](const TempDir& t) {
         return "encode --model " + st + " --output " + q(t / "no" / "such" / "dir" / "x.npy");
       },
       "x.npy"},
      {"UnknownDevice", [st](const TempDir&) { return "encode --model " + st + " --device tpu"; },
       "tpu"},
      {"CudaDeviceBeyondTheCount",
       [st](const TempDir&) { return "encode --model " + st + " --device cuda:7"; }, "cuda"},
      {"TokenizeModelMissing",
       [](const TempDir& t) { return "tokenize --model " + q(t / "nothing"); }, "nothing"},
      {"PredictOnASentenceTransformersModel",
       [st](const TempDir&) { return "predict --model " + st; }, "not an mtst model directory"},
      {"EvaluateOnASentenceTransformersModel",
       [st](const TempDir& t) {
         return "evaluate --model " + st + " --data " + q(t / "none.csv") + " --task sentiment";
       },
       "not an mtst model directory"},
      {"TrainConfigMissing",
       [](const TempDir& t) { return "train --config " + q(t / "none.json"); }, "none.json"},
      {"TrainConfigIsNotJson",
       [](const TempDir& t) {
         test::write_file(t / "bad.json", "{\"tasks\": [,]}");
         return "train --config " + q(t / "bad.json") + " --output " + q(t / "run");
       },
       "bad.json"},
      {"TrainDataMissing",
       [](const TempDir& t) {
         const auto config = train_config(
             t, [](auto& j) { j["tasks"][0]["files"]["train"] = "/nonexistent/train.csv"; });
         return "train --config " + q(config) + " --output " + q(t / "run");
       },
       "/nonexistent/train.csv"},
      {"TrainUnknownLabelColumn",
       [](const TempDir& t) {
         const auto config =
             train_config(t, [](auto& j) { j["tasks"][0]["label_column"] = "nope"; });
         return "train --config " + q(config) + " --output " + q(t / "run");
       },
       "nope"},
      {"TrainBackboneConfigHuge",
       [](const TempDir& t) {
         auto bert = read_json_file(fixtures() / "tiny-bert-train" / "config.json");
         bert["hidden_size"] = 4000000;
         bert["num_attention_heads"] = 1;
         test::write_file(t / "bert.json", bert.dump());
         const auto config = train_config(t, [&](auto& j) {
           j["backbone"] = {{"init", "random"},
                            {"config", (t / "bert.json").string()},
                            {"tokenizer", (fixtures() / "tiny-bert-train").string()}};
         });
         return "train --config " + q(config) + " --output " + q(t / "run");
       },
       "memory"},
      {"TrainOutputIsAFile",
       [](const TempDir& t) {
         test::write_file(t / "run", "not a directory");
         return "train --config " + q(train_config(t, [](auto&) {})) + " --output " + q(t / "run");
       },
       "run"},
      {"TrainResumeWithoutCheckpoint",
       [](const TempDir& t) {
         fs::create_directories(t / "empty-run");
         return "train --resume " + q(t / "empty-run");
       },
       "empty-run"},
      {"TrainUnknownOverride",
       [](const TempDir& t) {
         return "train --config " + q(train_config(t, [](auto&) {})) + " --output " + q(t / "run") +
                " --set optimizer.lr_everything=1";
       },
       "lr_everything"},
      {"ServeModelMissing",
       [](const TempDir& t) { return "serve --port 0 --model " + q(t / "nothing"); }, "nothing"},
      {"BenchEncodeInputMissing",
       [st](const TempDir& t) {
         return "bench encode --model " + st + " --input " + q(t / "none.txt");
       },
       "none.txt"},
  };
  return all;
}

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class CliErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(CliErrors, OneClearLineAndExitOne) {
  TempDir tmp;
  const auto& c = GetParam();
  const auto r = test::run_mtst(c.args(tmp), c.input);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("mtst: error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;  // c10 backtrace
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in\n"
                                                       << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Sweep, CliErrors, testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace mtst
