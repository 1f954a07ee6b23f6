// The two paths of one AdamW update (see adamw_update.h), in torch.optim.AdamW's order: decay,
// first and second moments, bias-corrected denominator, update.
#include "ops/adamw_update.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace mtst {

void adamw_update_fused_cpu(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                            const AdamWScalars& s) {
  float* wp = w.data_ptr<float>();
  float* mp = m.data_ptr<float>();
  float* vp = v.data_ptr<float>();
  const float* gp = grad.data_ptr<float>();
  at::parallel_for(0, w.numel(), 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = s.grad_scale == 1.0f ? gp[i] : gp[i] * s.grad_scale;
      wp[i] *= s.decay;
      mp[i] = mp[i] * s.beta1 + g * (1.0f - s.beta1);
      vp[i] = vp[i] * s.beta2 + (1.0f - s.beta2) * g * g;
      const float denom = std::sqrt(vp[i]) / s.bc2_sqrt + s.eps;
      wp[i] += (-s.step_size * mp[i]) / denom;
    }
  });
}

void adamw_update_reference(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                            const AdamWScalars& s) {
  const at::Tensor g = s.grad_scale == 1.0f ? grad : grad * s.grad_scale;
  w.mul_(s.decay);
  m.mul_(s.beta1).add_(g * (1.0f - s.beta1));
  v.mul_(s.beta2).add_(g * g * (1.0f - s.beta2));
  const auto denom = v.sqrt().div_(s.bc2_sqrt).add_(s.eps);
  w.add_(m.mul(-s.step_size).div_(denom));
}

void adamw_update(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                  const AdamWScalars& s) {
  if (w.is_cpu()) {
    adamw_update_fused_cpu(w, m, v, grad, s);
  } else {
    adamw_update_reference(w, m, v, grad, s);
  }
}

}  // namespace mtst
