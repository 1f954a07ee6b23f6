// LayerNorm and softmax through oneDNN. Why: libtorch 1.13's CPU layer_norm has no fast bf16
// kernel (about 40x slower than oneDNN's on a [1024,384] bf16 tensor here), and its bf16
// softmax is also slower. Statistics are computed in fp32 inside oneDNN either way.
#pragma once

#include <ATen/ATen.h>

#include <memory>

namespace mtst {

class FastLayerNorm {
 public:
  FastLayerNorm() = default;
  // weight, bias [H] (any float dtype; kept as fp32).
  FastLayerNorm(const at::Tensor& weight, const at::Tensor& bias, double eps);
  // x [M,H] contiguous (fp32 or bf16) -> normalised copy of the same dtype.
  at::Tensor forward(const at::Tensor& x) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// In-place softmax over the last dimension of a contiguous fp32/bf16 tensor.
void softmax_last_dim_(at::Tensor& x);
// Softmax over the last dimension of X (contiguous, fp32) into OUT (same shape, contiguous,
// fp32 or bf16): scores to probabilities in the dtype of the product that reads them.
void softmax_last_dim(const at::Tensor& x, at::Tensor& out);

}  // namespace mtst
