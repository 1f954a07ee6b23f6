// One AdamW update of one parameter tensor, device-neutral: the fused CPU loop, or the same
// arithmetic as ATen tensor ops (any device; the oracle the fused loop is tested against,
// tests/adamw_update_test.cpp). Internal to src (src/ops); FusedAdamW (adamw.h) computes the
// scalars and picks the path by the parameter's device.
#pragma once

#include <ATen/ATen.h>

namespace mtst {

struct AdamWScalars {
  float decay = 1;  // 1 - lr * weight_decay
  float beta1 = 0.9f, beta2 = 0.999f;
  float bc2_sqrt = 1;   // sqrt(1 - beta2^step)
  float step_size = 0;  // lr / (1 - beta1^step)
  float eps = 1e-8f;
  float grad_scale = 1;  // gradient clipping coefficient
};

// w, m, v and grad: contiguous float32 tensors of one shape on one device.
void adamw_update(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                  const AdamWScalars& s);
void adamw_update_fused_cpu(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                            const AdamWScalars& s);
void adamw_update_reference(at::Tensor& w, at::Tensor& m, at::Tensor& v, const at::Tensor& grad,
                            const AdamWScalars& s);

}  // namespace mtst
