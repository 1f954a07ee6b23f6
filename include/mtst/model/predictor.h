// Inference with a saved multi-task model directory (model_dir.h): the encoder on the fused
// inference path, then every task's head, giving per-task class probabilities. Used by
// `mtst predict`, `mtst evaluate` and the server. Shapes: N sentences, D embedding size, C
// classes.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mtst/model/classifier_head.h"
#include "mtst/model/model_dir.h"
#include "mtst/model/sentence_encoder.h"

namespace mtst {

class Predictor {
 public:
  // An mtst model directory (mtst.json: encoder + heads), or, with ALLOW_PLAIN_ENCODER, any
  // sentence-transformers / Hugging Face directory as an encoder without tasks (the server
  // embeds with those). Otherwise a directory without mtst.json is an mtst::Error.
  static Predictor load(const std::filesystem::path& dir, const ExecOptions& exec,
                        bool allow_plain_encoder = false);

  // The pooled embeddings the heads read [N,D] (never normalised), in input order;
  // MAX_PADDED_TOKENS (0 = none) also caps sentences x longest per forward pass;
  // *truncated counts inputs cut to the max length.
  at::Tensor head_inputs(const std::vector<std::string>& texts, size_t batch_size,
                         size_t max_padded_tokens = 0, size_t* truncated = nullptr) const;
  // The same from token ids already truncated to info().max_seq_length.
  // MAX_PADDED_TOKENS (0 = none) also caps sentences x longest per forward pass.
  at::Tensor head_inputs_ids(const std::vector<std::vector<int64_t>>& ids, size_t batch_size,
                             size_t max_padded_tokens = 0) const;
  // Per task (info().tasks order): logits [N,C] from HEAD_INPUTS (softmax gives probabilities).
  std::vector<at::Tensor> logits(const at::Tensor& head_inputs) const;
  // The sentence embeddings users see: HEAD_INPUTS, L2-normalised when the model normalises.
  at::Tensor sentence_embeddings(const at::Tensor& head_inputs) const;

  const ModelDirInfo& info() const { return info_; }
  const SentenceEncoder& encoder() const { return encoder_; }

 private:
  Predictor(SentenceEncoder encoder, ModelDirInfo info, std::vector<ClassifierHead> heads);
  // The heads' inputs: the training's pooling and length, not normalised.
  EncodeOptions head_encode_options(size_t batch_size, size_t max_padded_tokens) const;
  SentenceEncoder encoder_;
  ModelDirInfo info_;
  std::vector<ClassifierHead> heads_;
};

}  // namespace mtst
