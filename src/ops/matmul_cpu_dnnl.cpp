// oneDNN matmul primitives on ATen tensors: a per-shape primitive cache, strided operands,
// pre-packed Linear weights and fused epilogues. See dnnl_matmul.h for why this exists.
#include "ops/matmul_cpu_dnnl.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "mtst/error.h"
#include "runtime/bounded_cache.h"
#include "runtime/dnnl_compat.h"
#include "runtime/dnnl_runtime.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

using dnnl::memory;

struct CachedMatmul {
  std::shared_ptr<dnnl::matmul> primitive;
  bool packed_weights = true;  // PackedLinear: false when the packed layout could not be used
};

// One cache for the process: primitives depend on shapes, not on weight values, so the six
// layers of a MiniLM (and every request of a server) share them. Bounded (bounded_cache.h).
constexpr size_t kMaxCachedMatmuls = 4096;

BoundedCache<CachedMatmul>& matmul_cache() {
  static BoundedCache<CachedMatmul> cache(kMaxCachedMatmuls);
  return cache;
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

// The epilogue as post-ops, in this order: scale (a linear post-op, the same on oneDNN 2.x and
// 3.x, whose output-scale attributes differ), activation, residual add.
dnnl::primitive_attr make_attr(const MatmulEpilogue& e) {
  dnnl::primitive_attr attr = dnnl_attr();
  dnnl::post_ops ops;
  if (e.scale != 1.0f) dnnl_append_eltwise(ops, dnnl::algorithm::eltwise_linear, e.scale, 0.f);
  if (e.has_activation) dnnl_append_eltwise(ops, activation_algorithm(e.activation), 0.f, 0.f);
  if (e.addend != nullptr) ops.append_binary(dnnl::algorithm::binary_add, dnnl_describe(*e.addend));
  attr.set_post_ops(ops);
  return attr;
}

// The post-op position of the residual add (its runtime argument is numbered by it).
int addend_post_op_index(const MatmulEpilogue& e) {
  return (e.scale != 1.0f ? 1 : 0) + (e.has_activation ? 1 : 0);
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
  const auto& eng = dnnl_engine();
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory(src_md, eng, src));
  args.emplace(DNNL_ARG_WEIGHTS, memory(wei_md, eng, wei));
  if (bias_md != nullptr) args.emplace(DNNL_ARG_BIAS, memory(*bias_md, eng, bias));
  args.emplace(DNNL_ARG_DST, memory(dst_md, eng, dst));
  if (e.addend != nullptr) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(addend_post_op_index(e)) | DNNL_ARG_SRC_1,
                 memory(dnnl_describe(*e.addend), eng, e.addend->data_ptr()));
  }
  dnnl_run(prim, args);
}

}  // namespace

bool dnnl_available() { return true; }

bool dnnl_bf16_available() {
  static const bool available = [] {
    const auto bf16 = memory::data_type::bf16;
    try {
      const memory::desc a({8, 32}, bf16, memory::format_tag::ab);
      const memory::desc b({32, 32}, bf16, memory::format_tag::ab);
      dnnl_matmul_desc(a, b, nullptr, a, dnnl::primitive_attr());
      return true;
    } catch (const dnnl::error&) {
      return false;  // "could not create a primitive descriptor iterator": no kernel here
    }
  }();
  return available;
}

std::string dnnl_linear_impl(at::ScalarType dtype) {
  const memory::desc a({256, 384}, dnnl_type(dtype), memory::format_tag::ab);
  const memory::desc b({384, 1536}, dnnl_type(dtype), memory::format_tag::any);
  const memory::desc c({256, 1536}, dnnl_type(dtype), memory::format_tag::ab);
  try {
    return dnnl_matmul_desc(a, b, nullptr, c, dnnl::primitive_attr()).impl_info_str();
  } catch (const dnnl::error&) {
    return "none";
  }
}

void dnnl_matmul(const at::Tensor& a, const at::Tensor& b, at::Tensor& dst,
                 const MatmulEpilogue& epilogue) {
  // oneDNN 2.6 divides by zero building a matmul with no rows (SIGFPE): an empty product is
  // nothing to compute.
  if (dst.numel() == 0) return;
  std::string key = "mm|";
  append_key(key, a);
  append_key(key, b);
  append_key(key, dst);
  key += epilogue_key(epilogue) + dnnl_threads_key();
  const CachedMatmul cached = matmul_cache().find(key).value_or(CachedMatmul{});
  auto prim = cached.primitive;
  const auto a_md = dnnl_describe(a), b_md = dnnl_describe(b), d_md = dnnl_describe(dst);
  if (!prim) {
    try {
      auto pd = dnnl_matmul_desc(a_md, b_md, nullptr, d_md, make_attr(epilogue));
      prim = std::make_shared<dnnl::matmul>(pd);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN could not build a matmul for ") + key + ": " + e.what());
    }
    matmul_cache().put(key, CachedMatmul{prim, true});
  }
  execute(*prim, a_md, a.data_ptr(), b_md, b.data_ptr(), nullptr, nullptr, d_md, dst.data_ptr(),
          epilogue);
}

struct PackedLinear::Impl {
  at::ScalarType dtype;
  int64_t k = 0, n = 0;
  at::Tensor bias;  // [1,N] float32
  memory packed;    // weights in oneDNN's preferred layout
  // The plain [K,N] view, unpacked on first need (a batch shape the packed layout cannot serve),
  // so the weights are not held twice in the common case.
  std::mutex plain_mutex;
  at::Tensor plain_weight;

  memory::desc plain_desc() const { return memory::desc({k, n}, dnnl_type(dtype), {1, k}); }
  void* plain_data() {
    std::lock_guard<std::mutex> lock(plain_mutex);
    if (!plain_weight.defined()) {
      auto w = at::empty({n, k}, at::TensorOptions().dtype(dtype));
      memory plain(plain_desc(), dnnl_engine(), w.data_ptr());
      dnnl_run(dnnl::reorder(packed, plain), {{DNNL_ARG_FROM, packed}, {DNNL_ARG_TO, plain}});
      plain_weight = w;
    }
    return plain_weight.data_ptr();
  }
};

PackedLinear::PackedLinear(const at::Tensor& weight, const at::Tensor& bias, at::ScalarType dtype)
    : impl_(std::make_shared<Impl>()), n_(weight.size(0)) {
  const auto& eng = dnnl_engine();
  impl_->dtype = dtype;
  impl_->n = weight.size(0);
  impl_->k = weight.size(1);
  const auto plain_weight = weight.detach().to(dtype).contiguous();
  impl_->bias = bias.detach().to(at::kFloat).reshape({1, impl_->n}).contiguous();
  // Pack for a typical batch (M = 256 rows); other M reuse the layout when oneDNN allows.
  const memory::desc plain_md = impl_->plain_desc();
  const memory::desc any_md({impl_->k, impl_->n}, dnnl_type(dtype), memory::format_tag::any);
  const memory::desc src_md({256, impl_->k}, dnnl_type(dtype), memory::format_tag::ab);
  const memory::desc dst_md({256, impl_->n}, dnnl_type(dtype), memory::format_tag::ab);
  const memory::desc bias_md({1, impl_->n}, memory::data_type::f32, memory::format_tag::ab);
  auto pd = dnnl_matmul_desc(src_md, any_md, &bias_md, dst_md, dnnl::primitive_attr());
  impl_->packed = memory(pd.weights_desc(), eng);
  memory plain(plain_md, eng, plain_weight.data_ptr());
  dnnl_run(dnnl::reorder(plain, impl_->packed),
           {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, impl_->packed}});
}

at::Tensor PackedLinear::forward(const at::Tensor& x, const MatmulEpilogue& epilogue) const {
  const int64_t m = x.size(0);
  auto out = at::empty({m, impl_->n}, x.options());
  if (m == 0) return out;  // no rows: nothing to compute (and oneDNN 2.6 would divide by zero)
  const memory::desc src_md({m, impl_->k}, dnnl_type(impl_->dtype), {x.stride(0), 1});
  const memory::desc dst_md({m, impl_->n}, dnnl_type(impl_->dtype), memory::format_tag::ab);
  const memory::desc bias_md({1, impl_->n}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc plain_md = impl_->plain_desc();
  const std::string key = std::string("linear|") + at::toString(impl_->dtype) + "|" +
                          std::to_string(impl_->k) + "x" + std::to_string(impl_->n) + "|" +
                          std::to_string(m) + "/" + std::to_string(x.stride(0)) +
                          epilogue_key(epilogue) + dnnl_threads_key();
  const CachedMatmul cached = matmul_cache().find(key).value_or(CachedMatmul{});
  auto prim = cached.primitive;
  bool use_packed = cached.packed_weights;
  if (!prim) {
    const auto attr = make_attr(epilogue);
    try {
      auto pd = dnnl_matmul_desc(src_md, impl_->packed.get_desc(), &bias_md, dst_md, attr);
      prim = std::make_shared<dnnl::matmul>(pd);
    } catch (const dnnl::error&) {
      use_packed = false;
      auto pd = dnnl_matmul_desc(src_md, plain_md, &bias_md, dst_md, attr);
      prim = std::make_shared<dnnl::matmul>(pd);
    }
    matmul_cache().put(key, CachedMatmul{prim, use_packed});
  }
  if (use_packed) {
    execute(*prim, src_md, x.data_ptr(), impl_->packed.get_desc(), impl_->packed.get_data_handle(),
            &bias_md, impl_->bias.data_ptr(), dst_md, out.data_ptr(), epilogue);
  } else {
    execute(*prim, src_md, x.data_ptr(), plain_md, impl_->plain_data(), &bias_md,
            impl_->bias.data_ptr(), dst_md, out.data_ptr(), epilogue);
  }
  return out;
}

#else  // !MTST_HAVE_DNNL

bool dnnl_available() { return false; }
bool dnnl_bf16_available() { return false; }
std::string dnnl_linear_impl(at::ScalarType) { return ""; }

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
