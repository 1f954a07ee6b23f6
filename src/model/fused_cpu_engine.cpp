// Fused BERT inference on oneDNN primitives (see fused_cpu_engine.h). Parity with Hugging Face
// is tested (encoder_test: hidden_first4 and the pooled goldens), and with the module engine on
// random batches (engine_equality_test).
#include "mtst/model/fused_cpu_engine.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

#include "mtst/error.h"
#include "mtst/ops/exec_plan.h"
#include "ops/cpu/attention_heads.h"
#include "ops/int8_calibration.h"
#include "ops/layer_tail.h"
#include "ops/linear.h"
#include "ops/matmul_cpu_dnnl.h"
#include "ops/norm_cpu_dnnl.h"

namespace mtst {

namespace {
uint16_t* bf16_bits(const at::Tensor& t) { return static_cast<uint16_t*>(t.data_ptr()); }

// Sentences per attention group of a packed batch: groups are sorted by length, so small
// groups waste little on padding; attention is a sliver of the work at these lengths, so the
// number of groups matters more than their padding.
constexpr int64_t kAttentionGroup = 8;
// Shape rounding of packed batches: every distinct shape costs a oneDNN primitive (JIT code) on
// first use, and a server meets a new token count with nearly every batch.
constexpr int64_t kLengthMultiple = 8;  // attention group lengths
// Token rows through the linear layers. bf16 matmuls (brgemm, AMX) JIT-compile per shape, so
// their row counts are coarse; fp32 ones (gemm:jit) cost ~0.1 ms to create, so rows are kept
// near the real token count (a multiple of 64 wastes ~2.6 % of the work on the bench corpus).
// int8 products (brgemm) also JIT per shape, but they run in blocks of int8_block_rows() rows,
// so only a batch's last block has a new row count: a multiple of 16 there gives at most four
// shapes per block size (64 wasted ~4 % of the int8 work on the bench corpus).
int64_t row_multiple(Precision precision) {
  if (precision == Precision::kInt8) return 16;
  return precision == Precision::kBf16 ? 64 : 8;
}
}  // namespace

struct FusedCpuEngine::Layer {
  Linear qkv;
  LayerTail tail;
};

namespace {
LayerTailWeights tail_weights(const BertLayer& l, const BertConfig& config) {
  LayerTailWeights w;
  const auto& attn_out = l->attention->output->dense;
  w.attn_out_weight = attn_out->weight;
  w.attn_out_bias = attn_out->bias;
  w.ffn_in_weight = l->intermediate->dense->weight;
  w.ffn_in_bias = l->intermediate->dense->bias;
  w.ffn_out_weight = l->output->dense->weight;
  w.ffn_out_bias = l->output->dense->bias;
  w.ln1_weight = l->attention->output->LayerNorm->weight;
  w.ln1_bias = l->attention->output->LayerNorm->bias;
  w.ln2_weight = l->output->LayerNorm->weight;
  w.ln2_bias = l->output->LayerNorm->bias;
  w.eps = config.layer_norm_eps;
  w.activation = config.hidden_act;
  return w;
}
}  // namespace

FusedCpuEngine::FusedCpuEngine(const BertModel& model, Precision precision,
                               const std::vector<std::vector<int64_t>>& calibration)
    : EncoderEngine(model->config(), precision, c10::kCPU), lowest_(masked_score(dtype())) {
  if (!dnnl_available()) throw Error("the fused CPU engine needs oneDNN, which this build lacks");
  at::NoGradGuard no_grad;
  const c10::Device device = c10::kCPU;
  const KernelPlan& plan = kernel_plan(precision, device);
  attention_dtype_ = precision_dtype(plan.attention_precision);
  heads_ = &cpu::attention_head_kernels(plan.vector_isa);
  auto& emb = *model->embeddings;
  word_ = emb.word_embeddings->weight.detach();
  position_ = emb.position_embeddings->weight.detach();
  token_type0_ = emb.token_type_embeddings->weight.detach()[0];
  emb_ln_ = std::make_shared<FastLayerNorm>(emb.LayerNorm->weight, emb.LayerNorm->bias,
                                            config().layer_norm_eps);
  if (precision != Precision::kInt8) {
    layers_ = build_layers(model, kernel_plan(precision, device), nullptr);
    return;
  }
  // int8: the float layers first, recording what each linear layer sees on the calibration
  // text; then the int8 layers with SmoothQuant factors from those statistics.
  LayerStats stats;
  layers_ = build_layers(model, kernel_plan(Precision::kFp32, device), &stats);
  for (const auto& ids : calibration) {
    const auto t = at::tensor(ids, at::kLong).unsqueeze(0);
    forward(t, at::ones_like(t));
  }
  std::vector<at::Tensor> absmax;
  for (const auto& r : stats) absmax.push_back(calibration.empty() ? at::Tensor() : r->absmax());
  layers_ = build_layers(model, kernel_plan(precision, device), nullptr, &absmax);
}

std::vector<std::shared_ptr<FusedCpuEngine::Layer>> FusedCpuEngine::build_layers(
    const BertModel& model, const KernelPlan& plan, LayerStats* record,
    const std::vector<at::Tensor>* absmax) const {
  // 1/sqrt(d) folded into the query projection: the score GEMM then needs no epilogue.
  const double scale = 1.0 / std::sqrt(static_cast<double>(config().head_dim()));
  // Statistics come four per layer, in the order qkv, attention output, FFN in, FFN out.
  auto seen = [&](size_t index) { return absmax != nullptr ? (*absmax)[index] : at::Tensor(); };
  auto recorded = [&](const Linear& l) {
    record->push_back(std::make_shared<InputRecorder>());
    return Linear(make_recording_linear(l.backend(), record->back()));
  };
  std::vector<std::shared_ptr<Layer>> layers;
  for (int64_t i = 0; i < config().num_hidden_layers; ++i) {
    auto l = model->layer(i);
    auto& self = *l->attention->self;
    auto layer = std::make_shared<Layer>();
    const size_t first = 4 * static_cast<size_t>(i);
    layer->qkv =
        Linear(at::cat({self.query->weight * scale, self.key->weight, self.value->weight}, 0),
               at::cat({self.query->bias * scale, self.key->bias, self.value->bias}, 0), plan,
               LinearRole::kQkv, seen(first));
    const LayerTailWeights tail = tail_weights(l, config());
    if (record == nullptr) {
      layer->tail = LayerTail(tail, plan, {seen(first + 1), seen(first + 2), seen(first + 3)});
    } else {
      layer->qkv = recorded(layer->qkv);
      auto part = [&](const at::Tensor& w, const at::Tensor& b, LinearRole role) {
        return recorded(Linear(w, b, plan, role));
      };
      auto attn_out = part(tail.attn_out_weight, tail.attn_out_bias, LinearRole::kAttentionOutput);
      auto ffn_in = part(tail.ffn_in_weight, tail.ffn_in_bias, LinearRole::kFfnInput);
      auto ffn_out = part(tail.ffn_out_weight, tail.ffn_out_bias, LinearRole::kFfnOutput);
      layer->tail = LayerTail(make_composed_layer_tail(tail, attn_out, ffn_in, ffn_out, false));
    }
    layers.push_back(layer);
  }
  return layers;
}

at::Tensor FusedCpuEngine::embed(const at::Tensor& input_ids) const {
  const int64_t T = input_ids.size(1);
  // Sums and LayerNorm in fp32 (cheap, [B,T,H]); the encoder then runs in the run's dtype.
  auto x = at::embedding(word_, input_ids) + position_.narrow(0, 0, T) + token_type0_;
  return emb_ln_->forward(x.reshape({-1, config().hidden_size})).to(dtype());
}

at::Tensor FusedCpuEngine::embed_rows(const at::Tensor& input_ids, const at::Tensor& rows,
                                      int64_t padded_rows) const {
  // The same sums as embed(), for the real tokens only (rows are flat b*T + t positions), then
  // zero rows up to PADDED_ROWS (their LayerNorm output is junk that is never read back).
  const int64_t T = input_ids.size(1), N = rows.size(0);
  auto x = at::zeros({padded_rows, config().hidden_size}, word_.options());
  auto real = x.narrow(0, 0, N);
  at::add_out(real,
              at::embedding(word_, input_ids.reshape({-1}).index_select(0, rows)) +
                  at::embedding(position_, rows.remainder(T)),
              token_type0_);
  return emb_ln_->forward(x).to(dtype());
}

at::Tensor FusedCpuEngine::attention_heads(const at::Tensor& qkv, const int64_t* rows,
                                           int64_t sentences, int64_t length) const {
  const int64_t A = config().num_attention_heads, d = config().head_dim();
  auto heads = at::empty({3, sentences, A, length, d}, qkv.options().dtype(attention_dtype_));
  const cpu::HeadLayout layout{sentences, length, A, d, rows};
  const bool float_in = qkv.scalar_type() == at::kFloat;
  if (float_in && attention_dtype_ == at::kFloat) {
    heads_->gather_float(qkv.data_ptr<float>(), layout, heads.data_ptr<float>());
  } else if (float_in && attention_dtype_ == at::kBFloat16) {
    heads_->gather_float_to_bf16(qkv.data_ptr<float>(), layout, bf16_bits(heads));
  } else if (qkv.scalar_type() == at::kBFloat16 && attention_dtype_ == at::kBFloat16) {
    heads_->gather_bf16(bf16_bits(qkv), layout, bf16_bits(heads));
  } else {
    throw Error("fused CPU engine: no attention layout from " +
                std::string(at::toString(qkv.scalar_type())) + " to " +
                at::toString(attention_dtype_));
  }
  return heads;
}

void FusedCpuEngine::attend(const at::Tensor& heads, const std::vector<int64_t>* lengths,
                            const at::Tensor& mask_bias, at::Tensor& out) const {
  const int64_t b = heads.size(1), A = heads.size(2), t = heads.size(3);
  auto scores = at::empty({b, A, t, t}, heads.options().dtype(dtype()));
  dnnl_matmul(heads[0], heads[1].transpose(-1, -2), scores);  // Q is pre-scaled by 1/sqrt(d)
  if (mask_bias.defined()) scores.add_(mask_bias);
  // Masked keys get the lowest value (what adding HF's mask bias gives), written only where
  // a sentence is shorter than its group.
  for (int64_t i = 0; lengths != nullptr && i < b; ++i) {
    const int64_t len = (*lengths)[static_cast<size_t>(i)];
    if (len < t) scores[i].narrow(-1, len, t - len).fill_(lowest_);
  }
  auto probs = scores;
  if (attention_dtype_ != scores.scalar_type()) probs = at::empty_like(scores, attention_dtype_);
  softmax_last_dim(scores, probs);
  dnnl_matmul(probs, heads[2], out);
}

at::Tensor FusedCpuEngine::layer_forward(const Layer& layer, const at::Tensor& x, int64_t B,
                                         int64_t T, const at::Tensor& mask_bias) const {
  const int64_t H = config().hidden_size, A = config().num_attention_heads, d = H / A;
  // Q, K, V head-major ([3,B,A,T,d]): oneDNN's AMX/AVX-512 batched kernels need unit-stride
  // heads (strided views fall back to a kernel ~5x slower). K^T is a free view.
  const auto heads = attention_heads(layer.qkv.forward(x).contiguous(), nullptr, B, T);
  // Context written straight into [B,T,A,d] = [B*T, H] order.
  auto context = at::empty({B, T, A, d}, x.options());
  auto context_view = context.permute({0, 2, 1, 3});
  attend(heads, nullptr, mask_bias, context_view);
  return layer_tail(layer, x, context.view({B * T, H}));
}

at::Tensor FusedCpuEngine::packed_layer_forward(const Layer& layer, const at::Tensor& x,
                                                const TokenRows& tokens,
                                                const at::Tensor& group_rows) const {
  const int64_t H = config().hidden_size, A = config().num_attention_heads, d = H / A;
  // Q/K/V for the real tokens only, gathered per attention group straight from their rows.
  const auto qkv = layer.qkv.forward(x).contiguous();
  auto context = at::empty({group_rows.size(0), H}, x.options());
  const int64_t* rows = group_rows.data_ptr<int64_t>();
  for (const auto& g : tokens.groups) {
    const int64_t b = g.sentences, t = g.length;
    const auto heads = attention_heads(qkv, rows + g.offset, b, t);
    auto out = context.narrow(0, g.offset, b * t).view({b, t, A, d}).permute({0, 2, 1, 3});
    attend(heads, g.padded ? &g.lengths : nullptr, at::Tensor(), out);
  }
  return layer_tail(layer, x, tokens.from_groups(context));
}

at::Tensor FusedCpuEngine::layer_tail(const Layer& layer, const at::Tensor& x,
                                      const at::Tensor& context) const {
  return layer.tail.forward(x, context);
}

at::Tensor FusedCpuEngine::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                   bool pack) const {
  at::InferenceMode inference;
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  // Additive mask bias [B,1,1,T]; masked keys get the dtype's lowest value, as in HF. Batches
  // without padding (common once inputs are sorted by length) skip it altogether.
  at::Tensor mask_bias;
  if (!attention_mask.all().item<bool>()) {
    if (pack) {
      const auto tokens = TokenRows::pack(attention_mask, kAttentionGroup, dtype(), kLengthMultiple,
                                          row_multiple(precision()));
      if (!tokens.groups.empty()) {  // right padding (ours always is)
        auto x = embed_rows(input_ids, tokens.rows, tokens.inverse.size(0));
        // The groups' padding positions read row 0 instead of a zero row (no copy of Q/K/V
        // with a zero row appended): they are masked keys or queries whose output is dropped.
        const int64_t real_rows = tokens.rows.size(0);
        const auto group_rows =
            at::where(tokens.gather == real_rows, at::zeros({}, at::kLong), tokens.gather);
        for (const auto& layer : layers_) x = packed_layer_forward(*layer, x, tokens, group_rows);
        return tokens.to_padded(x).view({B, T, config().hidden_size});
      }
    }
    mask_bias = attention_mask_bias(attention_mask, dtype());
  }
  auto x = embed(input_ids);
  for (const auto& layer : layers_) x = layer_forward(*layer, x, B, T, mask_bias);
  return x.view({B, T, config().hidden_size});
}

}  // namespace mtst
