// What a model directory says about sentence embedding: where the transformer lives, which
// pooling, whether to normalise, the max length. Understands the classic sentence-transformers
// layout (all-MiniLM-L6-v2: sentence_bert_config.json max_seq_length, pooling_mode_* flags,
// a Normalize module), the sentence-transformers 6 layout ("pooling_mode": "mean", the max
// length as tokenizer_config.json model_max_length) and plain Hugging Face dirs (no
// modules.json: mean pooling, no normalisation). Reads JSON only; loads no weights.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mtst/model/pooling.h"

namespace mtst {

struct ModelLayout {
  std::string kind;  // "sentence-transformers", "sentence-transformers-6" or "huggingface"
  std::filesystem::path transformer_dir;  // config.json, weights and tokenizer files
  std::vector<PoolingMode> pooling{PoolingMode::kMean};
  bool normalize = false;
  size_t max_seq_length = 0;  // 0: not stated by sentence-transformers files
};

ModelLayout read_model_layout(const std::filesystem::path& dir);

}  // namespace mtst
