// libFuzzer target: a model's config.json. Loading must either give a BertConfig the model code
// can trust (positive sizes, heads dividing the hidden size, a pad id inside the vocabulary,
// dropout probabilities libtorch accepts, a finite positive epsilon) that survives a round trip
// through to_json, or throw mtst::Error.
#include <cmath>
#include <cstdint>

#include "fuzz_util.h"
#include "mtst/model/bert_config.h"

namespace {

bool probability(double p) { return p >= 0 && p <= 1; }

bool trustworthy(const mtst::BertConfig& c) {
  return probability(c.hidden_dropout_prob) && probability(c.attention_probs_dropout_prob) &&
         std::isfinite(c.layer_norm_eps) && c.layer_norm_eps > 0 && c.vocab_size > 0 &&
         c.hidden_size > 0 && c.num_hidden_layers > 0 && c.num_attention_heads > 0 &&
         c.hidden_size % c.num_attention_heads == 0 && c.intermediate_size > 0 &&
         c.max_position_embeddings > 0 && c.type_vocab_size > 0 && c.pad_token_id >= 0 &&
         c.pad_token_id < c.vocab_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = mtst::fuzz::scratch_dir() / "config.json";
  mtst::fuzz::write_bytes(path, data, size);
  try {
    const auto config = mtst::BertConfig::from_file(path);
    if (!trustworthy(config)) mtst::fuzz::invariant_broken();
    const auto again = mtst::BertConfig::from_json(config.to_json(), "round trip");
    if (again.to_json() != config.to_json()) mtst::fuzz::invariant_broken();
  } catch (const mtst::Error&) {
  }
  return 0;
}
