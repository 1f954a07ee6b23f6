// oneDNN layer normalisation and softmax with per-shape primitive caches; ATen fallbacks
// when the build has no oneDNN.
#include "ops/norm_cpu_dnnl.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/bounded_cache.h"
#include "runtime/dnnl_compat.h"
#include "runtime/dnnl_runtime.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

// Layer norms and softmaxes meet as many shapes as the batches have row counts and attention
// groups: bounded (bounded_cache.h).
constexpr size_t kMaxCachedPrimitives = 1024;

template <typename Primitive>
class PrimitiveCache {
 public:
  template <typename Make>
  std::shared_ptr<Primitive> get(const std::string& key, Make make) {
    return cache_.get(key, [&] { return std::make_shared<Primitive>(make()); });
  }

 private:
  BoundedCache<std::shared_ptr<Primitive>> cache_{kMaxCachedPrimitives};
};

std::string shape_key(const at::Tensor& x) {
  std::string key = at::toString(x.scalar_type());
  for (auto s : x.sizes()) key += ',' + std::to_string(s);
  return key + dnnl_threads_key();
}

}  // namespace

struct FastLayerNorm::Impl {
  at::Tensor weight, bias;  // fp32 [H]
  float eps;
  PrimitiveCache<dnnl::layer_normalization_forward> cache;
};

FastLayerNorm::FastLayerNorm(const at::Tensor& weight, const at::Tensor& bias, double eps)
    : impl_(std::make_shared<Impl>()) {
  impl_->weight = weight.detach().to(at::kFloat).contiguous();
  impl_->bias = bias.detach().to(at::kFloat).contiguous();
  impl_->eps = static_cast<float>(eps);
}

at::Tensor FastLayerNorm::forward(const at::Tensor& x) const {
  auto out = at::empty_like(x);
  const auto md = dnnl_describe(x);
  auto prim = impl_->cache.get(shape_key(x), [&] {
    return dnnl::layer_normalization_forward(dnnl_layer_norm_desc(md, impl_->eps, dnnl_attr()));
  });
  const dnnl::memory::desc param_md({x.size(-1)}, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::a);
  const auto& eng = dnnl_engine();
  dnnl_run(*prim, {{DNNL_ARG_SRC, dnnl::memory(md, eng, x.data_ptr())},
                   {DNNL_ARG_DST, dnnl::memory(md, eng, out.data_ptr())},
                   {DNNL_ARG_SCALE, dnnl::memory(param_md, eng, impl_->weight.data_ptr())},
                   {DNNL_ARG_SHIFT, dnnl::memory(param_md, eng, impl_->bias.data_ptr())}});
  return out;
}

void softmax_last_dim(const at::Tensor& x, at::Tensor& out) {
  static PrimitiveCache<DnnlSoftmax> cache;
  const auto src = dnnl_describe(x), dst = dnnl_describe(out);
  const int axis = static_cast<int>(x.dim()) - 1;
  const bool in_place = x.data_ptr() == out.data_ptr();
  const std::string key =
      shape_key(x) + ">" + at::toString(out.scalar_type()) + (in_place ? "=" : "");
  auto prim =
      cache.get(key, [&] { return DnnlSoftmax(dnnl_softmax_desc(src, dst, axis, dnnl_attr())); });
  const auto& eng = dnnl_engine();
  dnnl_run(*prim, {{DNNL_ARG_SRC, dnnl::memory(src, eng, x.data_ptr())},
                   {DNNL_ARG_DST, dnnl::memory(dst, eng, out.data_ptr())}});
}

void softmax_last_dim_(at::Tensor& x) { softmax_last_dim(x, x); }

#else  // !MTST_HAVE_DNNL

struct FastLayerNorm::Impl {
  at::Tensor weight, bias;
  double eps;
};

FastLayerNorm::FastLayerNorm(const at::Tensor& weight, const at::Tensor& bias, double eps)
    : impl_(std::make_shared<Impl>(Impl{weight.detach(), bias.detach(), eps})) {}

at::Tensor FastLayerNorm::forward(const at::Tensor& x) const {
  return at::layer_norm(x, {x.size(-1)}, impl_->weight.to(x.scalar_type()),
                        impl_->bias.to(x.scalar_type()), impl_->eps);
}

void softmax_last_dim(const at::Tensor& x, at::Tensor& out) {
  out.copy_(at::_softmax(x, -1, false));
}

void softmax_last_dim_(at::Tensor& x) { softmax_last_dim(x, x); }

#endif

}  // namespace mtst
