// The int8 linear backend: each block of rows quantised per row (per token) to u8 with a zero
// point, multiplied by the packed s8 weights (oneDNN's u8*s8->s32 matmul: VNNI, AMX or AVX2
// code) and turned back into fp32 activations (zero-point correction, scales, bias, GELU,
// residual) by mtst's row kernels while the block's products are still in the cache
// (int8_matmul_cpu_dnnl.h).
#include <algorithm>

#include "mtst/error.h"
#include "ops/int8_matmul_cpu_dnnl.h"
#include "ops/linear.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

class Int8Linear final : public LinearBackend {
 public:
  Int8Linear(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan,
             const at::Tensor& input_absmax)
      : matmul_(weight, bias, plan, input_absmax) {}

  at::Tensor forward(const at::Tensor& input, const MatmulEpilogue& e) const override {
    if (e.scale != 1.0f) throw Error("int8 linear: an epilogue scale is not supported");
    const auto x = input.to(at::kFloat).contiguous();
    const int64_t m = x.size(0), k = matmul_.in_features(), n = matmul_.out_features();
    auto out = at::empty({m, n}, x.options());
    if (m == 0) return out;
    at::Tensor residual;
    if (e.addend != nullptr) residual = e.addend->to(at::kFloat).contiguous();
    const int64_t block = std::min(m, int8_block_rows());
    Int8Rows q(block, k);
    auto acc = at::empty({block, n}, x.options().dtype(at::kInt));
    for (int64_t begin = 0; begin < m; begin += block) {
      const int64_t rows = std::min(block, m - begin);
      matmul_.quantize(x.data_ptr<float>() + begin * k, rows, q);
      matmul_.multiply(q, rows, acc.data_ptr<int32_t>());
      cpu::Int8Epilogue ep = matmul_.epilogue(acc.data_ptr<int32_t>(), q);
      ep.activation = e.has_activation ? 1 + static_cast<int>(e.activation) : 0;
      ep.residual = residual.defined() ? residual.data_ptr<float>() + begin * n : nullptr;
      ep.out = out.data_ptr<float>() + begin * n;
      matmul_.finish(ep, rows);
    }
    return out;
  }

 private:
  Int8Matmul matmul_;
};

}  // namespace

std::shared_ptr<const LinearBackend> make_int8_linear(const at::Tensor& weight,
                                                      const at::Tensor& bias,
                                                      const KernelPlan& plan,
                                                      const at::Tensor& input_absmax) {
  return std::make_shared<Int8Linear>(weight, bias, plan, input_absmax);
}

#else  // !MTST_HAVE_DNNL

std::shared_ptr<const LinearBackend> make_int8_linear(const at::Tensor&, const at::Tensor&,
                                                      const KernelPlan&, const at::Tensor&) {
  throw Error(int8_support().why_not);
}

#endif

}  // namespace mtst
