// A linear layer, y = epilogue(x W^T + b), behind one entry for every device and precision.
// The kernel comes from the run's KernelPlan (kernel_plan.h), decided once; the backends are
// one file each: oneDNN fp32/bf16 (linear_cpu_dnnl.cpp), oneDNN int8 with mtst's row kernels
// (linear_int8_cpu_dnnl.cpp) and the plain ATen reference (linear_reference.cpp), which is the
// oracle every fast backend is tested against.
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "ops/kernel_plan.h"
#include "ops/matmul_cpu_dnnl.h"

namespace mtst {

class LinearBackend {
 public:
  virtual ~LinearBackend() = default;
  // x [M,K] float or the run's dtype (contiguous rows) -> [M,N]; activation and residual
  // [M,N] fused as MatmulEpilogue says (its scale must be 1).
  virtual at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& epilogue) const = 0;
};

class Linear {
 public:
  Linear() = default;
  // WEIGHT [N,K], BIAS [N] (float, as trained), run as PLAN says for a layer of ROLE.
  // INPUT_ABSMAX [K]: the largest |x| seen per input column on calibration text (int8 uses it
  // to smooth activations; may be undefined).
  Linear(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan, LinearRole role,
         const at::Tensor& input_absmax = {});
  explicit Linear(std::shared_ptr<const LinearBackend> backend) : impl_(std::move(backend)) {}
  const std::shared_ptr<const LinearBackend>& backend() const { return impl_; }
  at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& epilogue = {}) const {
    return impl_->forward(x, epilogue);
  }

 private:
  std::shared_ptr<const LinearBackend> impl_;
};

// The backends, for the plan and for tests that compare them.
std::shared_ptr<const LinearBackend> make_onednn_linear(const at::Tensor& weight,
                                                        const at::Tensor& bias,
                                                        at::ScalarType dtype);
std::shared_ptr<const LinearBackend> make_int8_linear(const at::Tensor& weight,
                                                      const at::Tensor& bias,
                                                      const KernelPlan& plan,
                                                      const at::Tensor& input_absmax = {});
// The float reference, and the int8 reference: the int8 backend's quantisation (SmoothQuant
// factors from INPUT_ABSMAX, per-channel s8 weights up to WEIGHT_MAX, per-row u8 activations
// up to ACTIVATION_MAX) in plain ATen ops, the integers multiplied exactly (in double), so the
// fast int8 path must match it to float rounding.
std::shared_ptr<const LinearBackend> make_reference_linear(const at::Tensor& weight,
                                                           const at::Tensor& bias);
std::shared_ptr<const LinearBackend> make_reference_int8_linear(const at::Tensor& weight,
                                                                const at::Tensor& bias,
                                                                const at::Tensor& input_absmax,
                                                                int32_t activation_max,
                                                                int32_t weight_max);

// The shared quantisation rules of the int8 backend and its reference.
// SmoothQuant (alpha 0.5): s_j = sqrt(max|x_j| / max_n |W_nj|); x / s is quantised, W * s is.
// Undefined when INPUT_ABSMAX is.
at::Tensor int8_smoothing(const at::Tensor& weight, const at::Tensor& input_absmax);
// Symmetric per-output-channel codes of WEIGHT * SMOOTH (columns) in [-WEIGHT_MAX, WEIGHT_MAX]
// as int8 [N,K]; *SCALE gets the [N] scales.
at::Tensor quantize_weights(const at::Tensor& weight, const at::Tensor& smooth, int32_t weight_max,
                            at::Tensor* scale);

}  // namespace mtst
