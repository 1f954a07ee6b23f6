// Fused BERT inference on oneDNN GEMMs (see inference_bert.h). Falls back to the module's own
// forward when this build has no oneDNN. Parity with BertModel is a test (inference_test).
#include "mtst/model/inference_bert.h"

#include <cmath>

#include "runtime/dnnl_matmul.h"

namespace mtst {

struct InferenceBert::Layer {
  PackedLinear qkv, attn_out, intermediate, output;
  at::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
};

namespace {

at::Tensor cast(const at::Tensor& t, at::ScalarType dtype) {
  return t.detach().to(dtype).contiguous();
}

}  // namespace

InferenceBert::InferenceBert(const BertModel& model, Precision precision)
    : config_(model->config()),
      dtype_(precision == Precision::kBf16 ? at::kBFloat16 : at::kFloat),
      fused_(dnnl_available()) {
  at::NoGradGuard no_grad;
  if (!fused_) {
    // Without oneDNN: a private copy of the module in the run's dtype.
    fallback_ = BertModel(config_);
    auto src = model->named_parameters();
    for (auto& p : fallback_->named_parameters()) p.value().copy_(src[p.key()]);
    fallback_->to(dtype_);
    fallback_->eval();
    return;
  }
  auto& emb = *model->embeddings;
  word_ = emb.word_embeddings->weight.detach();
  position_ = emb.position_embeddings->weight.detach();
  token_type0_ = emb.token_type_embeddings->weight.detach()[0];
  emb_ln_w_ = emb.LayerNorm->weight.detach();
  emb_ln_b_ = emb.LayerNorm->bias.detach();
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    auto l = model->layer(i);
    auto& self = *l->attention->self;
    auto layer = std::make_shared<Layer>();
    layer->qkv =
        PackedLinear(at::cat({self.query->weight, self.key->weight, self.value->weight}, 0),
                     at::cat({self.query->bias, self.key->bias, self.value->bias}, 0), dtype_);
    layer->attn_out = PackedLinear(l->attention->output->dense->weight,
                                   l->attention->output->dense->bias, dtype_);
    layer->intermediate =
        PackedLinear(l->intermediate->dense->weight, l->intermediate->dense->bias, dtype_);
    layer->output = PackedLinear(l->output->dense->weight, l->output->dense->bias, dtype_);
    layer->ln1_w = cast(l->attention->output->LayerNorm->weight, dtype_);
    layer->ln1_b = cast(l->attention->output->LayerNorm->bias, dtype_);
    layer->ln2_w = cast(l->output->LayerNorm->weight, dtype_);
    layer->ln2_b = cast(l->output->LayerNorm->bias, dtype_);
    layers_.push_back(layer);
  }
}

at::Tensor InferenceBert::embed(const at::Tensor& input_ids) const {
  const int64_t T = input_ids.size(1);
  // Sums and LayerNorm in fp32 (cheap, [B,T,H]); the encoder then runs in the run's dtype.
  auto x = at::embedding(word_, input_ids) + position_.narrow(0, 0, T) + token_type0_;
  x = at::layer_norm(x, {config_.hidden_size}, emb_ln_w_, emb_ln_b_, config_.layer_norm_eps);
  return x.to(dtype_).reshape({-1, config_.hidden_size});
}

at::Tensor InferenceBert::layer_forward(const Layer& layer, const at::Tensor& x, int64_t B,
                                        int64_t T, const at::Tensor& mask_bias) const {
  const int64_t H = config_.hidden_size, A = config_.num_attention_heads, d = H / A;
  // qkv [B*T, 3H] viewed as [B,T,3,A,d]; q,v -> [B,A,T,d], k^T -> [B,A,d,T], all strided views.
  auto qkv = layer.qkv.forward(x).view({B, T, 3, A, d});
  auto q = qkv.select(2, 0).permute({0, 2, 1, 3});
  auto k_t = qkv.select(2, 1).permute({0, 2, 3, 1});
  auto v = qkv.select(2, 2).permute({0, 2, 1, 3});
  auto scores = at::empty({B, A, T, T}, x.options());
  MatmulEpilogue score_epilogue;
  score_epilogue.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  score_epilogue.addend = &mask_bias;
  dnnl_matmul(q, k_t, scores, score_epilogue);
  auto probs = at::_softmax(scores, -1, false);
  // Context written straight into [B,T,A,d] = [B*T, H] order.
  auto context = at::empty({B, T, A, d}, x.options());
  auto context_view = context.permute({0, 2, 1, 3});
  dnnl_matmul(probs, v, context_view);
  MatmulEpilogue residual;
  residual.addend = &x;
  auto a = at::layer_norm(layer.attn_out.forward(context.view({B * T, H}), residual), {H},
                          layer.ln1_w, layer.ln1_b, config_.layer_norm_eps);
  MatmulEpilogue activation;
  activation.has_activation = true;
  activation.activation = config_.hidden_act;
  auto h = layer.intermediate.forward(a, activation);
  MatmulEpilogue residual2;
  residual2.addend = &a;
  return at::layer_norm(layer.output.forward(h, residual2), {H}, layer.ln2_w, layer.ln2_b,
                        config_.layer_norm_eps);
}

at::Tensor InferenceBert::forward(const at::Tensor& input_ids,
                                  const at::Tensor& attention_mask) const {
  at::InferenceMode inference;
  if (!fused_) {
    BertModel module = fallback_;  // a handle copy; forward is not const in libtorch
    return module->forward(input_ids, attention_mask);
  }
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  // Additive mask bias [B,1,1,T] in fp32; masked keys get the lowest value, as in HF.
  auto mask_bias = attention_mask_bias(attention_mask, at::kFloat);
  auto x = embed(input_ids);
  for (const auto& layer : layers_) x = layer_forward(*layer, x, B, T, mask_bias);
  return x.view({B, T, config_.hidden_size});
}

}  // namespace mtst
