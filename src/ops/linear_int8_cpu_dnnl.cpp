// The int8 linear backend: weights quantised once (symmetric s8 per output channel), each
// call's activations quantised per row (per token) to u8 with a zero point by mtst's row
// kernels, the integer product by oneDNN's u8*s8->s32 matmul (VNNI, AMX or AVX2 code, with
// packed weights), and the fp32 epilogue (zero-point correction, scales, bias, GELU, residual)
// by the row kernels again. Also the probe that tells whether this CPU's integer products are
// exact for full 8-bit activations (int8_support).
#include <ATen/Parallel.h>

#include <string>

#include "mtst/error.h"
#include "ops/linear.h"
#include "runtime/bounded_cache.h"
#include "runtime/dnnl_compat.h"
#include "runtime/dnnl_runtime.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

using dnnl::memory;
using dt = memory::data_type;
constexpr int64_t kPackRows = 256;  // the batch shape the weights are packed for
constexpr int64_t kRowGrain = 16;   // rows per task of the row kernels

memory::desc u8_rows(int64_t m, int64_t k) { return {{m, k}, dt::u8, memory::format_tag::ab}; }
memory::desc s32_rows(int64_t m, int64_t n) { return {{m, n}, dt::s32, memory::format_tag::ab}; }
memory::desc s8_plain(int64_t k, int64_t n) { return {{k, n}, dt::s8, {1, k}}; }  // from [N,K]
memory::desc s8_any(int64_t k, int64_t n) { return {{k, n}, dt::s8, memory::format_tag::any}; }

struct CachedInt8Matmul {
  std::shared_ptr<dnnl::matmul> primitive;
  bool packed_weights = true;  // false when oneDNN could not use the packed layout
};

BoundedCache<CachedInt8Matmul>& int8_cache() {
  static BoundedCache<CachedInt8Matmul> cache(1024);
  return cache;
}

// A u8*s8->s32 matmul of the given weight layout (packed, or plain when oneDNN refuses it).
std::shared_ptr<dnnl::matmul> make_matmul(int64_t m, int64_t k, int64_t n,
                                          const memory::desc& weights) {
  auto pd = dnnl_matmul_desc(u8_rows(m, k), weights, nullptr, s32_rows(m, n), dnnl_attr());
  return std::make_shared<dnnl::matmul>(pd);
}

void run_matmul(const dnnl::matmul& prim, const memory::desc& src, void* a,
                const memory::desc& weights, void* w, const memory::desc& dst, void* c) {
  const auto& eng = dnnl_engine();
  dnnl_run(prim, {{DNNL_ARG_SRC, memory(src, eng, a)},
                  {DNNL_ARG_WEIGHTS, memory(weights, eng, w)},
                  {DNNL_ARG_DST, memory(dst, eng, c)}});
}

// Whether u8 codes up to LEVEL times s8 weights of +-WEIGHT come out exact.
bool products_exact(int32_t level, int32_t weight, std::string* impl) {
  const int64_t m = 64, k = 384, n = 64;
  auto a = at::full({m, k}, level, at::kInt).to(at::kByte);
  auto w = at::full({n, k}, weight, at::kChar);
  w.narrow(0, 0, n / 2).fill_(-weight);
  auto c = at::empty({m, n}, at::kInt);
  auto pd = dnnl_matmul_desc(u8_rows(m, k), s8_plain(k, n), nullptr, s32_rows(m, n), dnnl_attr());
  *impl = pd.impl_info_str();
  run_matmul(dnnl::matmul(pd), u8_rows(m, k), a.data_ptr(), s8_plain(k, n), w.data_ptr(),
             s32_rows(m, n), c.data_ptr());
  const int32_t expect = level * weight * static_cast<int32_t>(k);
  return c.narrow(1, n / 2, n / 2).eq(expect).all().item<bool>() &&
         c.narrow(1, 0, n / 2).eq(-expect).all().item<bool>();
}

Int8Support probe_int8() {
  Int8Support s;
  try {
    for (int32_t weight : {127, 63}) {
      if (products_exact(255, weight, &s.matmul)) {
        s.available = true;
        s.activation_max = 255;
        s.weight_max = weight;
        return s;
      }
    }
    s.why_not = "precision int8 is not available on this CPU: oneDNN's integer matmul (" +
                s.matmul + ") does not compute u8*s8 products exactly here; use fp32";
  } catch (const dnnl::error& e) {
    s.why_not = std::string(
                    "precision int8 is not available on this CPU: oneDNN has no u8*s8 "
                    "matmul for it (") +
                e.what() + "); use fp32";
  }
  return s;
}

class Int8Linear final : public LinearBackend {
 public:
  Int8Linear(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan,
             const at::Tensor& input_absmax)
      : k_(weight.size(1)),
        n_(weight.size(0)),
        activation_max_(plan.int8_activation_max),
        rows_(cpu::int8_row_kernels(plan.vector_isa)) {
    const auto smooth = int8_smoothing(weight, input_absmax);
    if (smooth.defined()) inv_smooth_ = smooth.reciprocal().contiguous();
    const auto q = quantize_weights(weight, smooth, plan.int8_weight_max, &col_scale_);
    col_sum_ = q.to(at::kInt).sum(1).to(at::kInt).contiguous();
    bias_ = bias.detach().to(at::kFloat).contiguous();
    // Pack for a typical batch; other row counts reuse the layout where oneDNN allows.
    auto pd = dnnl_matmul_desc(u8_rows(kPackRows, k_), s8_any(k_, n_), nullptr,
                               s32_rows(kPackRows, n_), dnnl_attr());
    packed_ = memory(pd.weights_desc(), dnnl_engine());
    plain_ = q.contiguous();
    memory plain(s8_plain(k_, n_), dnnl_engine(), plain_.data_ptr());
    dnnl_run(dnnl::reorder(plain, packed_), {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, packed_}});
  }

  at::Tensor forward(const at::Tensor& input, const MatmulEpilogue& e) const override {
    if (e.scale != 1.0f) throw Error("int8 linear: an epilogue scale is not supported");
    const auto x = input.to(at::kFloat).contiguous();
    const int64_t m = x.size(0);
    auto out = at::empty({m, n_}, x.options());
    if (m == 0) return out;
    auto q = at::empty({m, k_}, x.options().dtype(at::kByte));
    auto row_scale = at::empty({m}, x.options());
    auto row_zero = at::empty({m}, x.options().dtype(at::kInt));
    at::parallel_for(0, m, kRowGrain, [&](int64_t begin, int64_t end) {
      rows_.quantize(x.data_ptr<float>() + begin * k_, end - begin, k_, k_,
                     inv_smooth_.defined() ? inv_smooth_.data_ptr<float>() : nullptr,
                     activation_max_, q.data_ptr<uint8_t>() + begin * k_,
                     row_scale.data_ptr<float>() + begin, row_zero.data_ptr<int32_t>() + begin);
    });
    auto acc = at::empty({m, n_}, x.options().dtype(at::kInt));
    multiply(q, acc);
    at::Tensor residual;
    if (e.addend != nullptr) residual = e.addend->to(at::kFloat).contiguous();
    cpu::Int8Epilogue ep;
    ep.row_scale = row_scale.data_ptr<float>();
    ep.row_zero = row_zero.data_ptr<int32_t>();
    ep.col_scale = col_scale_.data_ptr<float>();
    ep.col_sum = col_sum_.data_ptr<int32_t>();
    ep.bias = bias_.data_ptr<float>();
    ep.activation = e.has_activation ? 1 + static_cast<int>(e.activation) : 0;
    at::parallel_for(0, m, kRowGrain, [&](int64_t begin, int64_t end) {
      cpu::Int8Epilogue part = ep;
      part.acc = acc.data_ptr<int32_t>() + begin * n_;
      part.row_scale += begin;
      part.row_zero += begin;
      part.residual = residual.defined() ? residual.data_ptr<float>() + begin * n_ : nullptr;
      part.out = out.data_ptr<float>() + begin * n_;
      rows_.epilogue(part, end - begin, n_);
    });
    return out;
  }

 private:
  void multiply(const at::Tensor& q, at::Tensor& acc) const {
    const int64_t m = q.size(0);
    const std::string key = "int8|" + std::to_string(k_) + "x" + std::to_string(n_) + "|" +
                            std::to_string(m) + dnnl_threads_key();
    auto cached = int8_cache().find(key).value_or(CachedInt8Matmul{});
    if (!cached.primitive) {
      try {
        cached.primitive = make_matmul(m, k_, n_, packed_.get_desc());
      } catch (const dnnl::error&) {
        cached.packed_weights = false;
        cached.primitive = make_matmul(m, k_, n_, s8_plain(k_, n_));
      }
      int8_cache().put(key, cached);
    }
    if (cached.packed_weights) {
      run_matmul(*cached.primitive, u8_rows(m, k_), q.data_ptr(), packed_.get_desc(),
                 packed_.get_data_handle(), s32_rows(m, n_), acc.data_ptr());
    } else {
      run_matmul(*cached.primitive, u8_rows(m, k_), q.data_ptr(), s8_plain(k_, n_),
                 plain_.data_ptr(), s32_rows(m, n_), acc.data_ptr());
    }
  }

  int64_t k_, n_;
  int32_t activation_max_;
  const cpu::Int8RowKernels& rows_;
  at::Tensor col_scale_, col_sum_, bias_, plain_;  // plain_: the s8 weights as [N,K]
  at::Tensor inv_smooth_;                          // [K], or undefined
  memory packed_;
};

}  // namespace

const Int8Support& int8_support() {
  static const Int8Support support = probe_int8();
  return support;
}

std::shared_ptr<const LinearBackend> make_int8_linear(const at::Tensor& weight,
                                                      const at::Tensor& bias,
                                                      const KernelPlan& plan,
                                                      const at::Tensor& input_absmax) {
  return std::make_shared<Int8Linear>(weight, bias, plan, input_absmax);
}

#else  // !MTST_HAVE_DNNL

const Int8Support& int8_support() {
  static const Int8Support support{false, 0, "",
                                   "precision int8 needs oneDNN, which this build "
                                   "of mtst does not have; use fp32"};
  return support;
}

std::shared_ptr<const LinearBackend> make_int8_linear(const at::Tensor&, const at::Tensor&,
                                                      const KernelPlan&, const at::Tensor&) {
  throw Error(int8_support().why_not);
}

#endif

}  // namespace mtst
