// Attention through libtorch's scaled_dot_product_attention (libtorch 2.1 and later), the path
// of CUDA tensors (attention.h). libtorch 1.13 has no such op: sdpa_available() is false there.
#include <torch/version.h>

#include "mtst/error.h"
#include "ops/attention.h"

namespace mtst {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)

bool sdpa_available() { return true; }

at::Tensor attention_sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& bias, double scale) {
  const auto mask = bias.defined() ? bias.to(q.scalar_type()) : bias;
  return at::scaled_dot_product_attention(q, k, v, mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          scale);
}

#else

bool sdpa_available() { return false; }

at::Tensor attention_sdpa(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                          const at::Tensor&, double) {
  throw Error("scaled_dot_product_attention needs libtorch 2.1 or later");
}

#endif

}  // namespace mtst
