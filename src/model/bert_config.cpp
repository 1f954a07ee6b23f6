// Parsing and validating BERT config.json files (model_type bert and BERT-shaped relatives).
#include "mtst/model/bert_config.h"

#include <cmath>

#include "mtst/error.h"
#include "mtst/io/json_file.h"

namespace mtst {

namespace {

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "relu") return Activation::kRelu;
  throw Error(where + ": hidden_act '" + name +
              "' is not supported (expected gelu, gelu_new, gelu_pytorch_tanh or relu)");
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::kGeluErf:
      return "gelu";
    case Activation::kGeluTanh:
      return "gelu_pytorch_tanh";
    case Activation::kRelu:
      return "relu";
  }
  return "gelu";
}

}  // namespace

BertConfig BertConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  const std::string model_type = json_optional<std::string>(j, "model_type", "bert", where);
  if (model_type != "bert") {
    throw Error(where + ": model_type '" + model_type + "' is not supported (expected bert)");
  }
  const std::string position_type =
      json_optional<std::string>(j, "position_embedding_type", "absolute", where);
  if (position_type != "absolute") {
    throw Error(where + ": position_embedding_type '" + position_type +
                "' is not supported (expected absolute)");
  }
  BertConfig c;
  c.vocab_size = json_required<int64_t>(j, "vocab_size", where);
  c.hidden_size = json_required<int64_t>(j, "hidden_size", where);
  c.num_hidden_layers = json_required<int64_t>(j, "num_hidden_layers", where);
  c.num_attention_heads = json_required<int64_t>(j, "num_attention_heads", where);
  c.intermediate_size = json_required<int64_t>(j, "intermediate_size", where);
  c.max_position_embeddings = json_required<int64_t>(j, "max_position_embeddings", where);
  c.type_vocab_size = json_optional<int64_t>(j, "type_vocab_size", 2, where);
  c.pad_token_id = json_optional<int64_t>(j, "pad_token_id", 0, where);
  c.layer_norm_eps = json_optional<double>(j, "layer_norm_eps", 1e-12, where);
  c.hidden_dropout_prob = json_optional<double>(j, "hidden_dropout_prob", 0.1, where);
  c.attention_probs_dropout_prob =
      json_optional<double>(j, "attention_probs_dropout_prob", 0.1, where);
  c.hidden_act =
      parse_activation(json_optional<std::string>(j, "hidden_act", "gelu", where), where);

  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0) throw Error(where + ": " + key + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.max_position_embeddings, "max_position_embeddings");
  positive(c.type_vocab_size, "type_vocab_size");
  if (c.hidden_size % c.num_attention_heads != 0) {
    throw Error(where + ": hidden_size " + std::to_string(c.hidden_size) +
                " is not a multiple of num_attention_heads " +
                std::to_string(c.num_attention_heads));
  }
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    throw Error(where + ": pad_token_id " + std::to_string(c.pad_token_id) +
                " is outside the vocabulary");
  }
  if (!(c.layer_norm_eps > 0) || !std::isfinite(c.layer_norm_eps)) {
    throw Error(where + ": layer_norm_eps must be a positive finite number");
  }
  auto probability = [&](double p, const char* key) {
    if (!(p >= 0 && p <= 1)) {
      throw Error(where + ": " + key + " must be a probability in [0, 1], got " +
                  std::to_string(p));
    }
  };
  probability(c.hidden_dropout_prob, "hidden_dropout_prob");
  probability(c.attention_probs_dropout_prob, "attention_probs_dropout_prob");
  return c;
}

BertConfig BertConfig::from_file(const std::filesystem::path& config_json) {
  return from_json(read_json_file(config_json), config_json.string());
}

double BertConfig::parameter_count() const {
  const double h = static_cast<double>(hidden_size), i = static_cast<double>(intermediate_size);
  const double embeddings =
      static_cast<double>(vocab_size + max_position_embeddings + type_vocab_size) * h + 2 * h;
  // Q, K, V, output projections with biases; two LayerNorms; the feed-forward pair.
  const double layer = 4 * (h * h + h) + 4 * h + (h * i + i) + (i * h + h);
  return embeddings + static_cast<double>(num_hidden_layers) * layer;
}

nlohmann::json BertConfig::to_json() const {
  return {{"architectures", {"BertModel"}},
          {"model_type", "bert"},
          {"vocab_size", vocab_size},
          {"hidden_size", hidden_size},
          {"num_hidden_layers", num_hidden_layers},
          {"num_attention_heads", num_attention_heads},
          {"intermediate_size", intermediate_size},
          {"max_position_embeddings", max_position_embeddings},
          {"type_vocab_size", type_vocab_size},
          {"pad_token_id", pad_token_id},
          {"layer_norm_eps", layer_norm_eps},
          {"hidden_dropout_prob", hidden_dropout_prob},
          {"attention_probs_dropout_prob", attention_probs_dropout_prob},
          {"hidden_act", activation_name(hidden_act)},
          {"position_embedding_type", "absolute"}};
}

}  // namespace mtst
