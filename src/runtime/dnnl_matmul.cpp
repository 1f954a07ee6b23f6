// oneDNN matmul primitives on ATen tensors: a per-shape primitive cache, strided operands,
// pre-packed Linear weights and fused epilogues. See dnnl_matmul.h for why this exists.
#include "runtime/dnnl_matmul.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "mtst/error.h"

#ifdef MTST_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

using dnnl::memory;

struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<dnnl::matmul>> cache;
};

Runtime& runtime() {
  static Runtime r;
  return r;
}

memory::data_type dnnl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return memory::data_type::f32;
    case at::kBFloat16:
      return memory::data_type::bf16;
    default:
      throw Error(std::string("oneDNN matmul: unsupported dtype ") + at::toString(t));
  }
}

memory::desc describe(const at::Tensor& t) {
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), dnnl_type(t.scalar_type()),
                      memory::dims(t.strides().begin(), t.strides().end()));
}

void append_key(std::string& key, const at::Tensor& t) {
  key += at::toString(t.scalar_type());
  for (auto s : t.sizes()) key += ',' + std::to_string(s);
  key += '/';
  for (auto s : t.strides()) key += ',' + std::to_string(s);
  key += '|';
}

dnnl::algorithm activation_algorithm(Activation a) {
  switch (a) {
    case Activation::kGeluErf:
      return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::kGeluTanh:
      return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::kRelu:
      return dnnl::algorithm::eltwise_relu;
  }
  return dnnl::algorithm::eltwise_gelu_erf;
}

dnnl::primitive_attr make_attr(const MatmulEpilogue& e) {
  dnnl::primitive_attr attr;
  if (e.scale != 1.0f) attr.set_output_scales(0, {e.scale});
  dnnl::post_ops ops;
  if (e.has_activation) ops.append_eltwise(1.0f, activation_algorithm(e.activation), 0.f, 0.f);
  if (e.addend != nullptr) ops.append_binary(dnnl::algorithm::binary_add, describe(*e.addend));
  attr.set_post_ops(ops);
  return attr;
}

std::string epilogue_key(const MatmulEpilogue& e) {
  std::string key = "s" + std::to_string(e.scale);
  if (e.has_activation) key += "a" + std::to_string(static_cast<int>(e.activation));
  if (e.addend != nullptr) {
    key += "r";
    append_key(key, *e.addend);
  }
  return key;
}

void execute(const dnnl::matmul& prim, const memory::desc& src_md, void* src,
             const memory::desc& wei_md, void* wei, const memory::desc* bias_md, void* bias,
             const memory::desc& dst_md, void* dst, const MatmulEpilogue& e) {
  auto& rt = runtime();
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory(src_md, rt.engine, src));
  args.emplace(DNNL_ARG_WEIGHTS, memory(wei_md, rt.engine, wei));
  if (bias_md != nullptr) args.emplace(DNNL_ARG_BIAS, memory(*bias_md, rt.engine, bias));
  args.emplace(DNNL_ARG_DST, memory(dst_md, rt.engine, dst));
  if (e.addend != nullptr) {
    const int index = e.has_activation ? 1 : 0;
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1,
                 memory(describe(*e.addend), rt.engine, e.addend->data_ptr()));
  }
  dnnl::stream stream(rt.engine);
  prim.execute(stream, args);
  stream.wait();
}

}  // namespace

bool dnnl_available() { return true; }

void dnnl_matmul(const at::Tensor& a, const at::Tensor& b, at::Tensor& dst,
                 const MatmulEpilogue& epilogue) {
  std::string key = "mm|";
  append_key(key, a);
  append_key(key, b);
  append_key(key, dst);
  key += epilogue_key(epilogue);
  auto& rt = runtime();
  std::shared_ptr<dnnl::matmul> prim;
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto it = rt.cache.find(key);
    if (it != rt.cache.end()) prim = it->second;
  }
  const auto a_md = describe(a), b_md = describe(b), d_md = describe(dst);
  if (!prim) {
    try {
      auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, d_md),
                                             make_attr(epilogue), rt.engine);
      prim = std::make_shared<dnnl::matmul>(pd);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN could not build a matmul for ") + key + ": " + e.what());
    }
    std::lock_guard<std::mutex> lock(rt.mutex);
    rt.cache.emplace(key, prim);
  }
  execute(*prim, a_md, a.data_ptr(), b_md, b.data_ptr(), nullptr, nullptr, d_md, dst.data_ptr(),
          epilogue);
}

struct PackedLinear::Impl {
  at::ScalarType dtype;
  int64_t k = 0, n = 0;
  at::Tensor plain_weight;  // [N,K] in dtype, kept for shapes the packed layout cannot serve
  at::Tensor bias;          // [1,N] float32
  memory packed;            // weights in oneDNN's preferred layout
  mutable std::mutex mutex;
  mutable std::unordered_map<std::string, std::pair<std::shared_ptr<dnnl::matmul>, bool>> cache;
};

PackedLinear::PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType dtype)
    : impl_(std::make_shared<Impl>()), n_(weight.size(0)) {
  auto& rt = runtime();
  impl_->dtype = dtype;
  impl_->n = weight.size(0);
  impl_->k = weight.size(1);
  impl_->plain_weight = weight.detach().to(dtype).contiguous();
  impl_->bias = bias.detach().to(at::kFloat).reshape({1, impl_->n}).contiguous();
  // Pack for a typical batch (M = 256 rows); other M reuse the layout when oneDNN allows.
  const memory::desc plain_md({impl_->k, impl_->n}, dnnl_type(dtype), {1, impl_->k});
  const memory::desc any_md({impl_->k, impl_->n}, dnnl_type(dtype), memory::format_tag::any);
  const memory::desc src_md({256, impl_->k}, dnnl_type(dtype), memory::format_tag::ab);
  const memory::desc dst_md({256, impl_->n}, dnnl_type(dtype), memory::format_tag::ab);
  const memory::desc bias_md({1, impl_->n}, memory::data_type::f32, memory::format_tag::ab);
  auto pd =
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, any_md, bias_md, dst_md), rt.engine);
  impl_->packed = memory(pd.weights_desc(), rt.engine);
  memory plain(plain_md, rt.engine, impl_->plain_weight.data_ptr());
  dnnl::stream stream(rt.engine);
  dnnl::reorder(plain, impl_->packed).execute(stream, plain, impl_->packed);
  stream.wait();
}

at::Tensor PackedLinear::forward(const at::Tensor& x, const MatmulEpilogue& epilogue) const {
  auto& rt = runtime();
  const int64_t m = x.size(0);
  auto out = at::empty({m, impl_->n}, x.options());
  const memory::desc src_md({m, impl_->k}, dnnl_type(impl_->dtype), {x.stride(0), 1});
  const memory::desc dst_md({m, impl_->n}, dnnl_type(impl_->dtype), memory::format_tag::ab);
  const memory::desc bias_md({1, impl_->n}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc plain_md({impl_->k, impl_->n}, dnnl_type(impl_->dtype), {1, impl_->k});
  std::string key = std::to_string(m) + "/" + std::to_string(x.stride(0)) + epilogue_key(epilogue);
  std::shared_ptr<dnnl::matmul> prim;
  bool use_packed = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->cache.find(key);
    if (it != impl_->cache.end()) std::tie(prim, use_packed) = it->second;
  }
  if (!prim) {
    const auto attr = make_attr(epilogue);
    try {
      auto pd = dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(src_md, impl_->packed.get_desc(), bias_md, dst_md), attr, rt.engine);
      prim = std::make_shared<dnnl::matmul>(pd);
    } catch (const dnnl::error&) {
      use_packed = false;
      auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, plain_md, bias_md, dst_md),
                                             attr, rt.engine);
      prim = std::make_shared<dnnl::matmul>(pd);
    }
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->cache.emplace(key, std::make_pair(prim, use_packed));
  }
  if (use_packed) {
    execute(*prim, src_md, x.data_ptr(), impl_->packed.get_desc(), impl_->packed.get_data_handle(),
            &bias_md, impl_->bias.data_ptr(), dst_md, out.data_ptr(), epilogue);
  } else {
    execute(*prim, src_md, x.data_ptr(), plain_md, impl_->plain_weight.data_ptr(), &bias_md,
            impl_->bias.data_ptr(), dst_md, out.data_ptr(), epilogue);
  }
  return out;
}

#else  // !MTST_HAVE_DNNL

bool dnnl_available() { return false; }

void dnnl_matmul(const at::Tensor&, const at::Tensor&, at::Tensor&, const MatmulEpilogue&) {
  throw Error("this build of mtst has no oneDNN");
}

struct PackedLinear::Impl {};
PackedLinear::PackedLinear(const at::Tensor&, const at::Tensor&, at::ScalarType) {
  throw Error("this build of mtst has no oneDNN");
}
at::Tensor PackedLinear::forward(const at::Tensor&, const MatmulEpilogue&) const {
  throw Error("this build of mtst has no oneDNN");
}

#endif

}  // namespace mtst
