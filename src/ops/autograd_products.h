// Differentiable matrix products for the training path, computed by oneDNN instead of ATen:
// libtorch 1.13 sends fp32 products to the system BLAS (generic kernels on many CPUs) and has
// no fp32 oneDNN route. Under CPU autocast (bf16) the operands are cast to bf16 as autocast
// would, and weight gradients are accumulated in fp32. Without oneDNN, and for tensors on another
// device (CUDA: cuBLAS), they are at::linear and at::matmul. Internal to src (src/ops).
#pragma once

#include <ATen/ATen.h>

namespace mtst {

// y = x W^T + b for x [..., K], W [N,K], b [N] -> [..., N].
at::Tensor trainable_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// c = scale * (a @ b) for a [B,A,M,K], b [B,A,K,N] (any strides with a unit inner stride).
at::Tensor trainable_matmul(const at::Tensor& a, const at::Tensor& b, double scale = 1.0);

}  // namespace mtst
