// Counter-based dropout (see hashed_dropout.h).
#include "ops/hashed_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <mutex>

namespace mtst {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// A tensor like X holding 0 (dropped) or 1/(1-P) (kept): two decisions per 64-bit hash.
at::Tensor make_mask(const at::Tensor& x, double p) {
  const uint64_t seed = next_seed();
  const auto threshold = static_cast<uint32_t>(p * 4294967296.0);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  // Drawn on the CPU for every device: the same seed drops the same units on a GPU as here.
  auto mask = at::empty(x.sizes(), at::TensorOptions().dtype(at::kFloat));
  float* out = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  at::parallel_for(0, (n + 1) / 2, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const uint64_t h = splitmix64(seed ^ (static_cast<uint64_t>(i) * 0xD1B54A32D192ED03ULL));
      out[2 * i] = static_cast<uint32_t>(h) < threshold ? 0.0f : scale;
      if (2 * i + 1 < n) out[2 * i + 1] = static_cast<uint32_t>(h >> 32) < threshold ? 0.0f : scale;
    }
  });
  return mask.to(x.device(), x.scalar_type());
}

struct DropoutFunction : torch::autograd::Function<DropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    const auto mask = make_mask(x, p);
    ctx->save_for_backward({mask});
    return x * mask;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {grads[0] * ctx->get_saved_variables()[0], at::Tensor()};
  }
};

}  // namespace

at::Tensor hashed_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0.0) return x;
  if (p >= 1.0) return at::zeros_like(x);
  return DropoutFunction::apply(x.contiguous(), p);
}

}  // namespace mtst
