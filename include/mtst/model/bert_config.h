// The BERT-family hyper-parameters read from a Hugging Face config.json.
// Validation happens here, once; the model code trusts a BertConfig.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "mtst/ops/activation.h"

namespace mtst {

struct BertConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;          // H
  int64_t num_hidden_layers = 0;    // L
  int64_t num_attention_heads = 0;  // A
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 2;
  int64_t pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  Activation hidden_act = Activation::kGeluErf;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Parameters of the encoder this config describes (embeddings and layers, not the pooler),
  // as a double: a hostile config's count can exceed int64.
  double parameter_count() const;

  // Parses and validates; WHERE names the source in error messages (usually the file).
  static BertConfig from_json(const nlohmann::json& j, const std::string& where);
  static BertConfig from_file(const std::filesystem::path& config_json);
  nlohmann::json to_json() const;
};

}  // namespace mtst
