// BERT encoder as libtorch modules whose parameter names are exactly the Hugging Face keys
// (embeddings.word_embeddings.weight, encoder.layer.3.attention.self.query.weight, ...).
// This is the autograd path (training, reference); fast inference lives in FusedCpuEngine.
// Shapes: B batch, T tokens, H hidden, A heads, L layers.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "mtst/model/bert_config.h"

namespace mtst {

struct BertEmbeddingsImpl : torch::nn::Module {
  explicit BertEmbeddingsImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& input_ids);  // [B,T] -> [B,T,H]
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr},
      token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertEmbeddings);

// Where the real (unpadded) tokens of a right-padded [B,T] batch sit. In training (and in
// FusedCpuEngine for padded batches) the encoder layers work on the N real token rows only ([N,H]),
// so padding costs nothing in the linear layers; attention runs per group of sentences of similar
// length (sorted, a few per group), each padded only to its own longest, so its cost follows the
// real lengths too.
struct TokenRows {
  int64_t B = 0, T = 0;
  torch::Tensor rows;  // [N] flat (b*T + t) positions of the real tokens; undefined: all B*T
  struct Group {
    int64_t sentences = 0, length = 0, offset = 0;  // offset into the stacked groups
    torch::Tensor mask_bias;                        // [sentences,1,1,length]
    std::vector<int64_t> lengths;                   // each sentence's real tokens
    bool padded = false;                            // some sentence is shorter than length
  };
  std::vector<Group> groups;  // empty: one padded [B,T] batch (the reference path)
  torch::Tensor gather;       // [sum sentences*length] rows of [x; 0] to stack the groups
  torch::Tensor inverse;      // [N'] each real token's row in the stacked groups (N' >= N)

  // Packs a right-padded batch (MASK [B,T]) into sorted attention groups of GROUP sentences.
  // Optional rounding for fewer distinct shapes (each new shape is a new oneDNN primitive):
  // group lengths up to a multiple of LENGTH_MULTIPLE (may exceed T), and the row count N' of
  // from_groups up to a multiple of ROW_MULTIPLE (the extra rows are junk, never read back).
  static TokenRows pack(const torch::Tensor& mask, int64_t group, torch::ScalarType dtype,
                        int64_t length_multiple = 1, int64_t row_multiple = 1);
  torch::Tensor to_padded(const torch::Tensor& x) const;    // [N(+),H] -> [B*T,H] (zeros)
  torch::Tensor from_padded(const torch::Tensor& x) const;  // [B*T,H] -> [N,H]
  torch::Tensor to_groups(const torch::Tensor& x) const;    // [N(+),H] -> [sum s*l, H]
  torch::Tensor from_groups(const torch::Tensor& x) const;  // [sum s*l, H] -> [N',H]
};

struct BertSelfAttentionImpl : torch::nn::Module {
  explicit BertSelfAttentionImpl(const BertConfig& c);
  // x [N,H] token rows, additive mask bias [B,1,1,T] -> context [N,H]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                        const TokenRows& tokens);
  int64_t heads_;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertSelfAttention);

// dense + dropout + residual + LayerNorm: HF's BertSelfOutput and BertOutput share this shape.
struct BertResidualOutputImpl : torch::nn::Module {
  BertResidualOutputImpl(int64_t in, const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertResidualOutput);

struct BertAttentionImpl : torch::nn::Module {
  explicit BertAttentionImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                        const TokenRows& tokens);
  BertSelfAttention self{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

struct BertIntermediateImpl : torch::nn::Module {
  explicit BertIntermediateImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  Activation act_;
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

struct BertLayerImpl : torch::nn::Module {
  explicit BertLayerImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                        const TokenRows& tokens);
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

struct BertModelImpl : torch::nn::Module {
  explicit BertModelImpl(const BertConfig& c);
  // input_ids, attention_mask [B,T] int64 -> last hidden state [B,T,H]
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  // layer(i) as a BertLayer; the encoder's ModuleList is named "encoder.layer".
  BertLayer layer(int64_t i) const;
  const BertConfig& config() const { return config_; }

  BertConfig config_;
  BertEmbeddings embeddings{nullptr};
  std::shared_ptr<torch::nn::Module> encoder;
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(BertModel);

// The additive attention bias HF uses: 0 where mask is 1, the dtype's lowest value elsewhere.
torch::Tensor attention_mask_bias(const torch::Tensor& attention_mask, torch::ScalarType dtype);
// The dtype's lowest value, what a masked key scores (as in Hugging Face).
double masked_score(torch::ScalarType dtype);

// HF-style initialisation (normal(0, 0.02) weights, zero biases, unit LayerNorm) with SEED.
void init_bert_weights(BertModel& model, uint64_t seed);

}  // namespace mtst
