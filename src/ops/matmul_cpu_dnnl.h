// Matrix products through oneDNN (Debian libdnnl, the library libtorch itself links): strided
// batched products for attention and linear layers with pre-packed weights and fused epilogues
// (bias, GELU, residual add). Why not at::linear: in libtorch 1.13 fp32 goes to the system BLAS
// and bf16 re-packs the weights every call. Primitives are cached per shape; thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "mtst/ops/activation.h"

namespace mtst {

// Whether this build uses oneDNN directly (else the callers use ATen).
bool dnnl_available();

// Whether oneDNN has bf16 matmul kernels for this CPU (oneDNN 2.x: AVX-512 or newer; none on
// AVX2-only CPUs). Probed once by creating a small bf16 primitive. False without oneDNN.
bool dnnl_bf16_available();

// The oneDNN implementation a linear layer of DTYPE runs on this CPU (for a typical shape),
// e.g. "brg:avx512_core"; "" without oneDNN.
std::string dnnl_linear_impl(at::ScalarType dtype);

struct MatmulEpilogue {
  float scale = 1.0f;           // dst = scale * (a @ b) ...
  bool has_activation = false;  // ... then activation ...
  Activation activation = Activation::kGeluErf;
  const at::Tensor* addend = nullptr;  // ... then + addend (same shape as dst, or broadcastable)
};

// dst = epilogue(a @ b) for 2-D..4-D tensors of equal rank (batch dims may broadcast),
// any strides (inner dimension of each operand must be unit-stride in one of the two axes).
// dst must be allocated by the caller with the result shape.
void dnnl_matmul(const at::Tensor& a, const at::Tensor& b, at::Tensor& dst,
                 const MatmulEpilogue& epilogue = {});

// A Linear layer (y = x W^T + b) whose weights are packed once into oneDNN's preferred
// layout for DTYPE (kFloat or kBFloat16).
class PackedLinear {
 public:
  PackedLinear() = default;
  PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType dtype);
  // x [M,K] (contiguous, DTYPE) -> [M,N]; optional activation and residual [M,N] fused.
  at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& epilogue = {}) const;
  int64_t out_features() const { return n_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  int64_t n_ = 0;
};

}  // namespace mtst
