// BERT modules with Hugging Face parameter names; the autograd (training/reference) path.
// ATen ops except the matrix products (autograd_ops.h: oneDNN); the fused fast path for
// inference is in fused_cpu_engine.cpp.
#include "mtst/model/bert.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "mtst/error.h"
#include "ops/attention.h"
#include "ops/autograd_products.h"
#include "ops/hashed_dropout.h"

namespace mtst {

namespace {

std::string describe_size(const BertConfig& c) {
  char text[256];
  std::snprintf(text, sizeof text,
                "the model the config describes (vocab_size %lld, hidden_size %lld, "
                "intermediate_size %lld, %lld layers: %.3g parameters, %.3g GiB in fp32)",
                static_cast<long long>(c.vocab_size), static_cast<long long>(c.hidden_size),
                static_cast<long long>(c.intermediate_size),
                static_cast<long long>(c.num_hidden_layers), c.parameter_count(),
                4 * c.parameter_count() / (1024.0 * 1024 * 1024));
  return text;
}

// A config can describe a model larger than the machine (a typo in vocab_size, a hostile file):
// refused in one line before libtorch's allocator fails or the kernel's OOM killer strikes.
void require_memory_for(const BertConfig& c) {
  const double physical =
      static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (physical > 0 && 4 * c.parameter_count() > physical) {
    throw Error(describe_size(c) + " does not fit in this machine's " +
                std::to_string(static_cast<long long>(physical / (1024.0 * 1024 * 1024))) +
                " GiB of memory");
  }
}

torch::nn::LayerNorm make_layer_norm(const BertConfig& c) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps).elementwise_affine(true));
}

// Dropout through the counter-based kernel, with the module's probability and mode.
torch::Tensor drop(const torch::nn::Dropout& dropout, const torch::Tensor& x) {
  return hashed_dropout(x, dropout->options.p(), dropout->is_training());
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
  return drop(dropout, LayerNorm->forward(x));
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c) : heads_(c.num_attention_heads) {
  query = register_module("query", torch::nn::Linear(c.hidden_size, c.hidden_size));
  key = register_module("key", torch::nn::Linear(c.hidden_size, c.hidden_size));
  value = register_module("value", torch::nn::Linear(c.hidden_size, c.hidden_size));
  dropout = register_module("dropout", torch::nn::Dropout(c.attention_probs_dropout_prob));
}

TokenRows TokenRows::pack(const torch::Tensor& mask, int64_t group, torch::ScalarType dtype,
                          int64_t length_multiple, int64_t row_multiple) {
  TokenRows out;
  out.B = mask.size(0);
  out.T = mask.size(1);
  const auto cpu_mask = mask.to(at::kCPU, at::kLong).contiguous();
  const auto lengths = cpu_mask.sum(1);
  // Right padding only: every row must be 1...1 0...0 with at least one 1, else keep the plain
  // padded path.
  const auto expected = at::arange(out.T, cpu_mask.options()).unsqueeze(0) < lengths.unsqueeze(1);
  if (!at::equal(expected.to(at::kLong), cpu_mask)) return out;
  if (lengths.min().item<int64_t>() == 0) return out;  // an empty row has nothing to pack
  const auto* len = lengths.data_ptr<int64_t>();
  std::vector<int64_t> prefix(static_cast<size_t>(out.B) + 1, 0), order(static_cast<size_t>(out.B));
  for (int64_t b = 0; b < out.B; ++b) prefix[b + 1] = prefix[b] + len[b];
  const int64_t N = prefix.back();
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return len[a] > len[b]; });
  // Extra rows (row_multiple) map to row 0 of the groups: computed, never read back.
  const int64_t padded_rows = (N + row_multiple - 1) / row_multiple * row_multiple;
  std::vector<int64_t> gather, inverse(static_cast<size_t>(padded_rows), 0);
  const double lowest = masked_score(dtype);
  for (size_t start = 0, end = 0; start < order.size(); start = end) {
    // At most GROUP sentences, none shorter than 3/4 of the group's first (longest): attention
    // cost grows with the square of the padded length, so an outlier gets a group of its own.
    end = start + 1;
    while (end < order.size() && end - start < static_cast<size_t>(group) &&
           4 * len[order[end]] >= 3 * len[order[start]]) {
      ++end;
    }
    Group g;
    g.sentences = static_cast<int64_t>(end - start);
    g.length = (len[order[start]] + length_multiple - 1) / length_multiple * length_multiple;
    g.offset = static_cast<int64_t>(gather.size());
    auto bias = at::zeros({g.sentences, 1, 1, g.length}, at::TensorOptions().dtype(dtype));
    for (size_t i = start; i < end; ++i) {
      const int64_t s = order[i], row = static_cast<int64_t>(i - start);
      for (int64_t t = 0; t < g.length; ++t) {
        if (t < len[s]) {
          inverse[static_cast<size_t>(prefix[s] + t)] = static_cast<int64_t>(gather.size());
          gather.push_back(prefix[s] + t);
        } else {
          gather.push_back(N);  // the zero row appended below the real tokens
        }
      }
      g.lengths.push_back(len[s]);
      if (len[s] < g.length) {
        bias[row].narrow(-1, len[s], g.length - len[s]).fill_(lowest);
        g.padded = true;
      }
    }
    g.mask_bias = bias;
    out.groups.push_back(g);
  }
  // Planned on the CPU; the index tensors and biases live where the batch does.
  const auto device = mask.device();
  out.rows = at::nonzero(cpu_mask.reshape({out.B * out.T})).squeeze(1).to(device);
  out.gather = at::tensor(gather, at::kLong).to(device);
  out.inverse = at::tensor(inverse, at::kLong).to(device);
  for (auto& g : out.groups) g.mask_bias = g.mask_bias.to(device);
  return out;
}

torch::Tensor TokenRows::to_padded(const torch::Tensor& x) const {
  if (!rows.defined()) return x;
  return at::zeros({B * T, x.size(1)}, x.options())
      .index_copy(0, rows, x.narrow(0, 0, rows.size(0)));
}

torch::Tensor TokenRows::from_padded(const torch::Tensor& x) const {
  return rows.defined() ? x.index_select(0, rows) : x;
}

torch::Tensor TokenRows::to_groups(const torch::Tensor& x) const {
  const auto real = x.narrow(0, 0, rows.size(0));  // gather's index N is the zero row below
  return at::cat({real, at::zeros({1, x.size(1)}, x.options())}).index_select(0, gather);
}

torch::Tensor TokenRows::from_groups(const torch::Tensor& x) const {
  return x.index_select(0, inverse);
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                                             const TokenRows& tokens) {
  const int64_t H = x.size(1), d = H / heads_;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  auto q = trainable_linear(x, query->weight, query->bias);
  auto k = trainable_linear(x, key->weight, key->bias);
  auto v = trainable_linear(x, value->weight, value->bias);
  // [b*t,H] rows -> context [b*t,H] for b sentences padded to t tokens.
  auto attend = [&](const torch::Tensor& qs, const torch::Tensor& ks, const torch::Tensor& vs,
                    int64_t b, int64_t t, const torch::Tensor& bias) {
    auto split = [&](const torch::Tensor& m) { return m.view({b, t, heads_, d}).transpose(1, 2); };
    auto context = attention_context(split(qs), split(ks), split(vs), bias, scale,
                                     dropout->options.p(), dropout->is_training());
    return context.transpose(1, 2).reshape({b * t, H});
  };
  if (tokens.groups.empty()) return attend(q, k, v, tokens.B, tokens.T, mask_bias);
  const auto qg = tokens.to_groups(q), kg = tokens.to_groups(k), vg = tokens.to_groups(v);
  std::vector<torch::Tensor> parts;
  for (const auto& g : tokens.groups) {
    const int64_t rows = g.sentences * g.length;
    parts.push_back(attend(qg.narrow(0, g.offset, rows), kg.narrow(0, g.offset, rows),
                           vg.narrow(0, g.offset, rows), g.sentences, g.length, g.mask_bias));
  }
  return tokens.from_groups(at::cat(parts));
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in, const BertConfig& c) {
  dense = register_module("dense", torch::nn::Linear(in, c.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& residual) {
  return LayerNorm->forward(drop(dropout, trainable_linear(x, dense->weight, dense->bias)) +
                            residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c) {
  self = register_module("self", BertSelfAttention(c));
  output = register_module("output", BertResidualOutput(c.hidden_size, c));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                                         const TokenRows& tokens) {
  return output->forward(self->forward(x, mask_bias, tokens), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& c) : act_(c.hidden_act) {
  dense = register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& x) {
  return activate(trainable_linear(x, dense->weight, dense->bias), act_);
}

BertLayerImpl::BertLayerImpl(const BertConfig& c) {
  attention = register_module("attention", BertAttention(c));
  intermediate = register_module("intermediate", BertIntermediate(c));
  output = register_module("output", BertResidualOutput(c.intermediate_size, c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias,
                                     const TokenRows& tokens) {
  auto a = attention->forward(x, mask_bias, tokens);
  return output->forward(intermediate->forward(a), a);
}

BertModelImpl::BertModelImpl(const BertConfig& c) : config_(c) {
  require_memory_for(c);
  try {
    embeddings = register_module("embeddings", BertEmbeddings(c));
    encoder = register_module("encoder", std::make_shared<torch::nn::Module>("BertEncoder"));
    layers = encoder->register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(BertLayer(c));
  } catch (const c10::Error& e) {
    // Fits in physical memory but not in what the allocator could get (limits, other users).
    throw Error("cannot allocate " + describe_size(c) + ": " + e.what_without_backtrace());
  }
}

BertLayer BertModelImpl::layer(int64_t i) const {
  return BertLayer(layers->ptr<BertLayerImpl>(static_cast<size_t>(i)));
}

// Sentences per attention group when training: small groups of similar length waste little on
// padding; more groups mean more (smaller) products.
constexpr int64_t kAttentionGroup = 8;

torch::Tensor BertModelImpl::forward(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask) {
  auto x = embeddings->forward(input_ids);
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2);
  auto bias = attention_mask_bias(attention_mask, x.scalar_type());
  // With gradients on (training), only real tokens go through the layers. Without (reference
  // inference), every position is computed as Hugging Face does, padding included.
  TokenRows tokens;
  tokens.B = B;
  tokens.T = T;
  if (at::GradMode::is_enabled())
    tokens = TokenRows::pack(attention_mask, kAttentionGroup, x.scalar_type());
  x = tokens.from_padded(x.reshape({B * T, H}));
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) x = layer(i)->forward(x, bias, tokens);
  // Packed: padding positions come back as zeros (pooling masks them anyway).
  return tokens.to_padded(x).view({B, T, H});
}

double masked_score(torch::ScalarType dtype) {
  return dtype == at::kBFloat16 ? -3.3895313892515355e38
         : dtype == at::kHalf   ? -65504.0
         : dtype == at::kDouble ? std::numeric_limits<double>::lowest()
                                : std::numeric_limits<float>::lowest();
}

torch::Tensor attention_mask_bias(const torch::Tensor& attention_mask, torch::ScalarType dtype) {
  auto keep = attention_mask.to(dtype).unsqueeze(1).unsqueeze(1);  // [B,1,1,T]
  return (1.0 - keep) * masked_score(dtype);
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
