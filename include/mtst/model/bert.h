// BERT encoder as libtorch modules whose parameter names are exactly the Hugging Face keys
// (embeddings.word_embeddings.weight, encoder.layer.3.attention.self.query.weight, ...).
// This is the autograd path (training, reference); fast inference lives in InferenceBert.
// Shapes: B batch, T tokens, H hidden, A heads, L layers.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

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

struct BertSelfAttentionImpl : torch::nn::Module {
  explicit BertSelfAttentionImpl(const BertConfig& c);
  // x [B,T,H], additive mask bias [B,1,1,T] -> context [B,T,H]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);
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
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);
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
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);
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

// HF-style initialisation (normal(0, 0.02) weights, zero biases, unit LayerNorm) with SEED.
void init_bert_weights(BertModel& model, uint64_t seed);

}  // namespace mtst
