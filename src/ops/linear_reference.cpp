// The plain ATen reference of the linear layer (the oracle of the fast backends), the int8
// reference (the int8 backend's quantisation in ATen ops, integers multiplied exactly in
// double), and Linear's choice of backend from the plan.
#include <cmath>

#include "mtst/error.h"
#include "ops/linear.h"

namespace mtst {

namespace {

at::Tensor finish(at::Tensor y, const MatmulEpilogue& e) {
  if (e.scale != 1.0f) y = y * e.scale;
  if (e.has_activation) {
    switch (e.activation) {
      case Activation::kGeluErf:
        y = at::gelu(y);
        break;
      case Activation::kGeluTanh:
        y = 0.5 * y * (1.0 + at::tanh(std::sqrt(2.0 / M_PI) * (y + 0.044715 * y.pow(3))));
        break;
      case Activation::kRelu:
        y = at::relu(y);
        break;
    }
  }
  if (e.addend != nullptr) y = y + e.addend->to(y.scalar_type());
  return y;
}

class ReferenceLinear final : public LinearBackend {
 public:
  ReferenceLinear(const at::Tensor& weight, const at::Tensor& bias)
      : weight_(weight.detach().to(at::kFloat)), bias_(bias.detach().to(at::kFloat)) {}
  at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& e) const override {
    return finish(at::linear(x.to(at::kFloat), weight_, bias_), e).to(x.scalar_type());
  }

 private:
  at::Tensor weight_, bias_;
};

class ReferenceInt8Linear final : public LinearBackend {
 public:
  ReferenceInt8Linear(const at::Tensor& weight, const at::Tensor& bias,
                      const at::Tensor& input_absmax, int32_t activation_max, int32_t weight_max)
      : activation_max_(activation_max) {
    const auto smooth = int8_smoothing(weight, input_absmax);
    inv_smooth_ = smooth.defined() ? smooth.reciprocal() : at::ones({weight.size(1)});
    codes_ = quantize_weights(weight, smooth, weight_max, &col_scale_).to(at::kDouble);
    bias_ = bias.detach().to(at::kDouble);
  }
  at::Tensor forward(const at::Tensor& input, const MatmulEpilogue& e) const override {
    const auto x = input.to(at::kFloat) * inv_smooth_;
    const auto lo = x.amin(1, true).clamp_max(0), hi = x.amax(1, true).clamp_min(0);
    const auto scale =
        at::where(hi > lo, (hi - lo) / static_cast<float>(activation_max_), at::ones_like(hi));
    const auto inv = scale.reciprocal();
    const auto zero = (-lo * inv).round().clamp(0, activation_max_);
    const auto q = ((x * inv).round() + zero).clamp(0, activation_max_);
    const auto acc = at::matmul((q - zero).to(at::kDouble), codes_.t());
    auto y = acc * scale.to(at::kDouble) * col_scale_.to(at::kDouble) + bias_;
    return finish(y.to(at::kFloat), e);
  }

 private:
  int32_t activation_max_;
  at::Tensor inv_smooth_, col_scale_, codes_, bias_;
};

}  // namespace

std::shared_ptr<const LinearBackend> make_reference_linear(const at::Tensor& weight,
                                                           const at::Tensor& bias) {
  return std::make_shared<ReferenceLinear>(weight, bias);
}

std::shared_ptr<const LinearBackend> make_reference_int8_linear(const at::Tensor& weight,
                                                                const at::Tensor& bias,
                                                                const at::Tensor& input_absmax,
                                                                int32_t activation_max,
                                                                int32_t weight_max) {
  return std::make_shared<ReferenceInt8Linear>(weight, bias, input_absmax, activation_max,
                                               weight_max);
}

at::Tensor int8_smoothing(const at::Tensor& weight, const at::Tensor& input_absmax) {
  if (!input_absmax.defined()) return {};
  const auto wmax = weight.detach().to(at::kFloat).abs().amax(0);
  const auto xmax = input_absmax.to(at::kFloat);
  // Columns never seen non-zero (or all-zero weights) keep factor 1.
  auto s = (xmax / wmax.clamp_min(1e-12)).sqrt().clamp(1e-4, 1e4);
  return at::where((xmax > 0) & (wmax > 0), s, at::ones_like(s)).contiguous();
}

at::Tensor quantize_weights(const at::Tensor& weight, const at::Tensor& smooth, int32_t weight_max,
                            at::Tensor* scale) {
  auto w = weight.detach().to(at::kFloat);
  if (smooth.defined()) w = w * smooth;
  *scale = (w.abs().amax(1) / static_cast<double>(weight_max)).clamp_min(1e-12).contiguous();
  return (w / scale->unsqueeze(1))
      .round()
      .clamp(-weight_max, weight_max)
      .to(at::kChar)
      .contiguous();
}

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan,
               LinearRole role, const at::Tensor& input_absmax) {
  if (plan.device.is_cuda()) throw Error("Linear: CUDA runs the module's own forward");
  const Precision precision = plan.linear_precision(role);
  if (precision == Precision::kInt8) {
    impl_ = make_int8_linear(weight, bias, plan, input_absmax);
  } else if (dnnl_available()) {
    impl_ = make_onednn_linear(weight, bias, precision_dtype(precision));
  } else {
    impl_ = make_reference_linear(weight, bias);
  }
}

}  // namespace mtst
