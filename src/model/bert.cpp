// BERT modules with Hugging Face parameter names; the autograd (training/reference) path.
// Deliberately plain ATen ops: the fused fast path for inference is in inference_bert.cpp.
#include "mtst/model/bert.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>

#include <cmath>
#include <limits>

namespace mtst {

namespace {

torch::nn::LayerNorm make_layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps).elementwise_affine(true));
}

torch::Tensor activate(const torch::Tensor& x, Activation act) {
  switch (act) {
    case Activation::kGeluErf:
      return at::gelu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kRelu:
      return at::relu(x);
  }
  return x;
}

}  // namespace

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c) {
  // padding_idx as in HF: the [PAD] row receives no gradient.
  word_embeddings = register_module(
      "word_embeddings",
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
  position_embeddings = register_module(
      "position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_embeddings = register_module("token_type_embeddings",
                                          torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  const int64_t T = input_ids.size(1);
  auto positions = at::arange(T, input_ids.options());
  // Token type 0 everywhere: mtst encodes single sentences, never pairs.
  auto x = word_embeddings->forward(input_ids) + position_embeddings->forward(positions) +
           token_type_embeddings->weight[0];
  return dropout->forward(LayerNorm->forward(x));
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c) : heads_(c.num_attention_heads) {
  query = register_module("query", torch::nn::Linear(c.hidden_size, c.hidden_size));
  key = register_module("key", torch::nn::Linear(c.hidden_size, c.hidden_size));
  value = register_module("value", torch::nn::Linear(c.hidden_size, c.hidden_size));
  dropout = register_module("dropout", torch::nn::Dropout(c.attention_probs_dropout_prob));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& x,
                                             const torch::Tensor& mask_bias) {
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), d = H / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads_, d}).transpose(1, 2); };
  auto q = split(query->forward(x));
  auto k = split(key->forward(x));
  auto v = split(value->forward(x));
  auto scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  auto probs = dropout->forward(at::softmax(scores + mask_bias, -1));
  return at::matmul(probs, v).transpose(1, 2).reshape({B, T, H});
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in, const BertConfig& c) {
  dense = register_module("dense", torch::nn::Linear(in, c.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& residual) {
  return LayerNorm->forward(dropout->forward(dense->forward(x)) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c) {
  self = register_module("self", BertSelfAttention(c));
  output = register_module("output", BertResidualOutput(c.hidden_size, c));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias) {
  return output->forward(self->forward(x, mask_bias), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& c) : act_(c.hidden_act) {
  dense = register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& x) {
  return activate(dense->forward(x), act_);
}

BertLayerImpl::BertLayerImpl(const BertConfig& c) {
  attention = register_module("attention", BertAttention(c));
  intermediate = register_module("intermediate", BertIntermediate(c));
  output = register_module("output", BertResidualOutput(c.intermediate_size, c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias) {
  auto a = attention->forward(x, mask_bias);
  return output->forward(intermediate->forward(a), a);
}

BertModelImpl::BertModelImpl(const BertConfig& c) : config_(c) {
  embeddings = register_module("embeddings", BertEmbeddings(c));
  encoder = register_module("encoder", std::make_shared<torch::nn::Module>("BertEncoder"));
  layers = encoder->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(BertLayer(c));
}

BertLayer BertModelImpl::layer(int64_t i) const {
  return BertLayer(layers->ptr<BertLayerImpl>(static_cast<size_t>(i)));
}

torch::Tensor BertModelImpl::forward(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask) {
  auto x = embeddings->forward(input_ids);
  auto bias = attention_mask_bias(attention_mask, x.scalar_type());
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) x = layer(i)->forward(x, bias);
  return x;
}

torch::Tensor attention_mask_bias(const torch::Tensor& attention_mask, torch::ScalarType dtype) {
  const double lowest = dtype == at::kBFloat16 ? -3.3895313892515355e38
                        : dtype == at::kHalf   ? -65504.0
                        : dtype == at::kDouble ? std::numeric_limits<double>::lowest()
                                               : std::numeric_limits<float>::lowest();
  auto keep = attention_mask.to(dtype).unsqueeze(1).unsqueeze(1);  // [B,1,1,T]
  return (1.0 - keep) * lowest;
}

void init_bert_weights(BertModel& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    const bool is_norm = name.find("LayerNorm") != std::string::npos;
    if (is_norm) {
      p.fill_(name.size() > 6 && name.substr(name.size() - 6) == "weight" ? 1.0 : 0.0);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == "bias") {
      p.zero_();
    } else {
      p.normal_(0.0, 0.02, gen);
    }
  }
  // HF zeroes the padding row of the word embeddings.
  model->embeddings->word_embeddings->weight[model->config().pad_token_id].zero_();
}

}  // namespace mtst
