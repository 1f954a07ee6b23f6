// Tests for BertConfig validation: the fixture's config.json loads and round-trips, and every
// value the model code could not use (sizes, heads, pad id, dropout, epsilon) is an mtst::Error
// naming the file and the key. Found by fuzz/bert_config_fuzz.cpp: dropout outside [0, 1] used
// to pass and reach libtorch's dropout.
#include "mtst/model/bert_config.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "mtst/error.h"
#include "mtst/io/json_file.h"
#include "test_util.h"

namespace mtst {
namespace {

nlohmann::json fixture_config() {
  return read_json_file(test::fixtures() / "tiny-bert-hf" / "config.json");
}

// The error for the fixture's config with KEY set to VALUE; fails if it loads.
std::string error_for(const std::string& key, const nlohmann::json& value) {
  auto j = fixture_config();
  j[key] = value;
  try {
    BertConfig::from_json(j, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
  return "";
}

TEST(BertConfig, FixtureLoadsAndRoundTrips) {
  const auto config = BertConfig::from_json(fixture_config(), "config.json");
  EXPECT_EQ(config.hidden_size, 32);
  EXPECT_EQ(config.num_attention_heads, 4);
  EXPECT_EQ(config.vocab_size, 30522);
  EXPECT_EQ(BertConfig::from_json(config.to_json(), "again").to_json(), config.to_json());
}

TEST(BertConfig, DropoutOutsideZeroToOneIsAnError) {
  EXPECT_NE(error_for("attention_probs_dropout_prob", 1.1).find("attention_probs_dropout_prob"),
            std::string::npos);
  EXPECT_NE(error_for("hidden_dropout_prob", -0.5).find("must be a probability in [0, 1]"),
            std::string::npos);
  auto j = fixture_config();
  j["hidden_dropout_prob"] = 1.0;  // libtorch accepts 1 (everything dropped): so do we
  EXPECT_EQ(BertConfig::from_json(j, "config.json").hidden_dropout_prob, 1.0);
}

TEST(BertConfig, EpsilonMustBePositiveAndFinite) {
  EXPECT_NE(error_for("layer_norm_eps", 0).find("layer_norm_eps"), std::string::npos);
  // Not from a file (the JSON reader refuses 1e400), but from_json takes any JSON value, and
  // to_json could not write an infinity back.
  EXPECT_NE(error_for("layer_norm_eps", std::numeric_limits<double>::infinity()).find("finite"),
            std::string::npos);
}

TEST(BertConfig, SizesHeadsAndPadIdAreChecked) {
  EXPECT_NE(error_for("hidden_size", 0).find("hidden_size must be positive"), std::string::npos);
  EXPECT_NE(error_for("num_attention_heads", 5).find("not a multiple"), std::string::npos);
  EXPECT_NE(error_for("pad_token_id", 30522).find("outside the vocabulary"), std::string::npos);
  EXPECT_NE(error_for("vocab_size", "many").find("vocab_size"), std::string::npos);
}

}  // namespace
}  // namespace mtst
