// The layer tail composed of its parts (three Linear ops, two layer norms): the fp32/bf16 path
// and, built from reference parts, the oracle of the fused int8 tail; and LayerTail's choice
// of backend from the plan.
#include "mtst/error.h"
#include "ops/layer_tail.h"
#include "ops/norm_cpu_dnnl.h"

namespace mtst {

namespace {

class ComposedLayerTail final : public LayerTailBackend {
 public:
  ComposedLayerTail(const LayerTailWeights& w, Linear attn_out, Linear ffn_in, Linear ffn_out,
                    bool reference_norms)
      : w_(w),
        attn_out_(std::move(attn_out)),
        ffn_in_(std::move(ffn_in)),
        ffn_out_(std::move(ffn_out)),
        reference_norms_(reference_norms) {
    if (!reference_norms) {
      ln1_ = FastLayerNorm(w.ln1_weight, w.ln1_bias, w.eps);
      ln2_ = FastLayerNorm(w.ln2_weight, w.ln2_bias, w.eps);
    }
  }

  at::Tensor forward(const at::Tensor& x, const at::Tensor& context) const override {
    MatmulEpilogue residual;
    residual.addend = &x;
    const auto a = norm(attn_out_.forward(context, residual), 1);
    MatmulEpilogue activation;
    activation.has_activation = true;
    activation.activation = w_.activation;
    const auto h = ffn_in_.forward(a, activation);
    MatmulEpilogue residual2;
    residual2.addend = &a;
    return norm(ffn_out_.forward(h, residual2), 2);
  }

 private:
  at::Tensor norm(const at::Tensor& x, int which) const {
    if (!reference_norms_) return which == 1 ? ln1_.forward(x) : ln2_.forward(x);
    const auto& weight = which == 1 ? w_.ln1_weight : w_.ln2_weight;
    const auto& bias = which == 1 ? w_.ln1_bias : w_.ln2_bias;
    return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, weight.to(at::kFloat),
                          bias.to(at::kFloat), w_.eps)
        .to(x.scalar_type());
  }

  LayerTailWeights w_;
  Linear attn_out_, ffn_in_, ffn_out_;
  bool reference_norms_;
  FastLayerNorm ln1_, ln2_;
};

}  // namespace

std::shared_ptr<const LayerTailBackend> make_composed_layer_tail(const LayerTailWeights& weights,
                                                                 Linear attn_out, Linear ffn_in,
                                                                 Linear ffn_out,
                                                                 bool reference_norms) {
  return std::make_shared<ComposedLayerTail>(weights, std::move(attn_out), std::move(ffn_in),
                                             std::move(ffn_out), reference_norms);
}

LayerTail::LayerTail(const LayerTailWeights& w, const KernelPlan& plan,
                     const LayerTailStats& stats) {
  if (plan.precision == Precision::kInt8 && !plan.device.is_cuda()) {
    impl_ = make_int8_layer_tail(w, plan, stats);
    return;
  }
  impl_ = make_composed_layer_tail(
      w, Linear(w.attn_out_weight, w.attn_out_bias, plan, LinearRole::kAttentionOutput),
      Linear(w.ffn_in_weight, w.ffn_in_bias, plan, LinearRole::kFfnInput),
      Linear(w.ffn_out_weight, w.ffn_out_bias, plan, LinearRole::kFfnOutput), false);
}

}  // namespace mtst
