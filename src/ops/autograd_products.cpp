// oneDNN-backed autograd functions for Linear and attention products (see autograd_ops.h).
#include "ops/autograd_products.h"

#include <torch/autograd.h>

#include "ops/matmul_cpu_dnnl.h"
#include "runtime/autocast.h"

namespace mtst {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::ScalarType compute_dtype(const at::Tensor& t) {
  return cpu_autocast_enabled() ? at::kBFloat16 : t.scalar_type();
}

// a @ b into a new tensor of DTYPE with the given scale.
at::Tensor product(const at::Tensor& a, const at::Tensor& b, at::IntArrayRef shape,
                   at::ScalarType dtype, float scale = 1.0f, const at::Tensor* addend = nullptr) {
  auto out = at::empty(shape, a.options().dtype(dtype));
  MatmulEpilogue e;
  e.scale = scale;
  e.addend = addend;
  dnnl_matmul(a, b, out, e);
  return out;
}

struct LinearFunction : torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias) {
    const auto dtype = compute_dtype(x);
    const int64_t K = weight.size(1), N = weight.size(0);
    const auto x2 = x.reshape({-1, K}).to(dtype).contiguous();
    const auto w = weight.to(dtype);
    const auto b = bias.to(at::kFloat).reshape({1, N});
    auto y = product(x2, w.t(), {x2.size(0), N}, dtype, 1.0f, &b);
    ctx->save_for_backward({x2, w});
    ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["b_dtype"] = static_cast<int64_t>(bias.scalar_type());
    auto shape = x.sizes().vec();
    shape.back() = N;
    return y.view(shape);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x2 = saved[0];
    const auto& w = saved[1];
    const int64_t N = w.size(0), K = w.size(1);
    const auto dy = grads[0].reshape({-1, N}).to(x2.scalar_type()).contiguous();
    at::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) {
      const auto x_dtype = static_cast<at::ScalarType>(ctx->saved_data["x_dtype"].toInt());
      dx = product(dy, w, {dy.size(0), K}, x_dtype);
    }
    if (ctx->needs_input_grad(1)) dw = product(dy.t(), x2, {N, K}, at::kFloat);
    if (ctx->needs_input_grad(2)) {
      const auto b_dtype = static_cast<at::ScalarType>(ctx->saved_data["b_dtype"].toInt());
      db = dy.sum(0, false, at::kFloat).to(b_dtype);
    }
    if (dx.defined()) {
      auto shape = grads[0].sizes().vec();
      shape.back() = K;
      dx = dx.view(shape);
    }
    return {dx, dw, db};
  }
};

struct MatmulFunction : torch::autograd::Function<MatmulFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b,
                            double scale) {
    const auto dtype = compute_dtype(a);
    const auto ac = a.to(dtype), bc = b.to(dtype);
    ctx->save_for_backward({ac, bc});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["a_dtype"] = static_cast<int64_t>(a.scalar_type());
    ctx->saved_data["b_dtype"] = static_cast<int64_t>(b.scalar_type());
    auto shape = a.sizes().vec();
    shape.back() = b.size(-1);
    return product(ac, bc, shape, dtype, static_cast<float>(scale));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    const auto& b = saved[1];
    const auto scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const auto dc = grads[0].to(a.scalar_type()).contiguous();
    at::Tensor da, db;
    if (ctx->needs_input_grad(0)) {
      const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["a_dtype"].toInt());
      da = product(dc, b.transpose(-1, -2), a.sizes(), dtype, scale);
    }
    if (ctx->needs_input_grad(1)) {
      const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["b_dtype"].toInt());
      db = product(a.transpose(-1, -2), dc, b.sizes(), dtype, scale);
    }
    return {da, db, at::Tensor()};
  }
};

}  // namespace

at::Tensor trainable_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!dnnl_available() || !x.is_cpu()) return at::linear(x, weight, bias);
  return LinearFunction::apply(x, weight, bias);
}

at::Tensor trainable_matmul(const at::Tensor& a, const at::Tensor& b, double scale) {
  if (!dnnl_available() || !a.is_cpu()) {
    auto c = at::matmul(a, b);
    return scale == 1.0 ? c : c * scale;
  }
  return MatmulFunction::apply(a, b, scale);
}

}  // namespace mtst
