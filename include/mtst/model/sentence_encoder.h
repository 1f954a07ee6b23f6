// A sentence encoder loaded from a model directory: tokenizer + BERT + pooling (+ normalize).
// Encodes lists of texts in batches sorted by token length, then restores input order.
// Shapes: N sentences, B batch, T tokens, D embedding size.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mtst/model/bert.h"
#include "mtst/model/encoder_engine.h"
#include "mtst/model/model_layout.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/text/tokenizer.h"

namespace mtst {

struct EncodeOptions {
  size_t batch_size = 32;            // sentences per forward pass, at most
  size_t max_padded_tokens = 0;      // > 0: also cap sentences x longest per forward pass
  size_t max_seq_length = 0;         // 0: the model's default
  std::vector<PoolingMode> pooling;  // empty: the model's default
  int normalize = -1;                // -1: the model's default, 0 no, 1 yes
  // Texts per tokenize/encode step: while the device encodes one chunk, a CPU thread tokenizes
  // the next (length sorting then works within a chunk). -1: the device's default (a GPU
  // chunks by kGpuPipelineChunk; the CPU tokenizes everything first, its cores being busy
  // with the encoder), 0: no chunks.
  int64_t pipeline_chunk = -1;
};

// Texts per pipelined chunk on a GPU: large enough that a chunk's passes keep it busy for far
// longer than one CPU thread takes to tokenize the next chunk.
constexpr size_t kGpuPipelineChunk = 4096;

struct EncodeResult {
  at::Tensor embeddings;  // [N, D] float32, input order
  size_t truncated = 0;   // inputs cut to the max length
  size_t tokens = 0;      // real (unpadded) tokens processed
};

// Token ids of a run of texts, with what tokenizing them cut and counted.
struct TokenizedTexts {
  std::vector<std::vector<int64_t>> ids;
  size_t truncated = 0;  // texts cut to the max length
  size_t tokens = 0;     // real tokens
};

class SentenceEncoder {
 public:
  // Loads a sentence-transformers or Hugging Face model directory.
  static SentenceEncoder load(const std::filesystem::path& dir, const ExecOptions& exec);
  // Random weights of the BERT in CONFIG_JSON; tokenizer files from the config's directory.
  static SentenceEncoder random(const std::filesystem::path& config_json, const ExecOptions& exec,
                                uint64_t seed = 0);

  EncodeResult encode(const std::vector<std::string>& texts, const EncodeOptions& options) const;
  // Same from token ids (already truncated, [CLS] ... [SEP]).
  at::Tensor encode_ids(const std::vector<std::vector<int64_t>>& ids,
                        const EncodeOptions& options) const;
  // Token ids of TEXT truncated to MAX_LENGTH (0: no truncation) keeping [SEP];
  // sets *was_truncated when tokens were dropped.
  std::vector<int64_t> tokenize(const std::string& text, size_t max_length,
                                bool* was_truncated = nullptr) const;

  // OPTIONS' max length (0: the model's), checked against the model's positions.
  size_t resolve_max_length(const EncodeOptions& options) const;
  // Texts per tokenize/encode chunk for OPTIONS on this device (0: no chunks).
  size_t pipeline_chunk(const EncodeOptions& options) const;

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const BertConfig& config() const { return model_->config(); }
  const ModelLayout& layout() const { return layout_; }
  size_t max_seq_length() const { return max_seq_length_; }
  int64_t embedding_dim(const std::vector<PoolingMode>& pooling) const;
  const BertModel& model() const { return model_; }

 private:
  SentenceEncoder(ModelLayout layout, std::shared_ptr<Tokenizer> tokenizer, BertModel model,
                  const ExecOptions& exec);
  TokenizedTexts tokenize_range(const std::vector<std::string>& texts, size_t begin, size_t end,
                                size_t max_length) const;

  ModelLayout layout_;
  std::shared_ptr<Tokenizer> tokenizer_;
  BertModel model_;
  std::shared_ptr<const EncoderEngine> engine_;  // chosen once, at load
  size_t max_seq_length_ = 0;
};

}  // namespace mtst
