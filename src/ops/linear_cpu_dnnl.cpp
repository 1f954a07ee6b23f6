// The fp32/bf16 linear backend: oneDNN matmul with weights packed once (PackedLinear).
#include "ops/linear.h"

namespace mtst {

namespace {

class OnednnLinear final : public LinearBackend {
 public:
  OnednnLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType dtype)
      : packed_(weight, bias, dtype) {}
  at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& e) const override {
    return packed_.forward(x, e);
  }

 private:
  PackedLinear packed_;
};

}  // namespace

std::shared_ptr<const LinearBackend> make_onednn_linear(const at::Tensor& weight,
                                                        const at::Tensor& bias,
                                                        at::ScalarType dtype) {
  return std::make_shared<OnednnLinear>(weight, bias, dtype);
}

}  // namespace mtst
