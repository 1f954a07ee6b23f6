// Scaled dot-product attention, one device-neutral entry point (internal to src/model).
// Q, K, V [b, heads, t, d]; BIAS additive, broadcastable to [b, heads, t, t] (the padding mask).
// The reference (two products and a softmax; on the CPU through oneDNN) is the oracle every
// faster path is tested against (tests/attention_test.cpp); CUDA tensors go to libtorch 2.x's
// scaled_dot_product_attention (flash / memory-efficient kernels) when no dropout is due.
#pragma once

#include <ATen/ATen.h>

namespace mtst {

// softmax(Q K^T * scale + bias) V, with dropout P on the probabilities when TRAINING.
at::Tensor attention_context(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& bias, double scale, double dropout_p, bool training);

// The reference path (attention_reference.cpp), any device.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& bias, double scale, double dropout_p,
                               bool training);

// Whether this libtorch has scaled_dot_product_attention with a scale argument (2.1 and later).
bool sdpa_available();
// libtorch's fused kernel without dropout (attention_sdpa.cpp); throws where unavailable.
at::Tensor attention_sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& bias, double scale);

}  // namespace mtst
