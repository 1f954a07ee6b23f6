// Int8Matmul (int8_matmul_cpu_dnnl.h): weights quantised and packed once, oneDNN's
// u8*s8->s32 matmul per block of rows, mtst's row kernels around it; and the probe that tells
// whether this CPU's integer products are exact for full 8-bit activations (int8_support).
#include "ops/int8_matmul_cpu_dnnl.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mtst/error.h"
#include "ops/cpu/int8_gemm.h"
#include "ops/linear.h"
#include "runtime/bounded_cache.h"
#include "runtime/dnnl_compat.h"
#include "runtime/dnnl_runtime.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

using dnnl::memory;
using dt = memory::data_type;
constexpr int64_t kRowGrain = 16;  // rows per task of the row kernels

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

void run_matmul(const dnnl::matmul& prim, const memory::desc& src, const void* a,
                const memory::desc& weights, void* w, const memory::desc& dst, void* c) {
  const auto& eng = dnnl_engine();
  dnnl_run(prim, {{DNNL_ARG_SRC, memory(src, eng, const_cast<void*>(a))},
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

// E with its row pointers moved to row BEGIN (COLS columns).
cpu::Int8Epilogue from_row(const cpu::Int8Epilogue& e, int64_t begin, int64_t cols) {
  cpu::Int8Epilogue part = e;
  part.acc += begin * cols;
  part.row_scale += begin;
  part.row_zero += begin;
  if (part.residual != nullptr) part.residual += begin * cols;
  if (part.out != nullptr) part.out += begin * cols;
  return part;
}

}  // namespace

int64_t int8_block_rows() { return 64 * static_cast<int64_t>(at::get_num_threads()); }

Int8Rows::Int8Rows(int64_t rows, int64_t cols)
    : codes(at::empty({rows, cols}, at::kByte)),
      scale(at::empty({rows}, at::kFloat)),
      zero(at::empty({rows}, at::kInt)) {}

Int8Matmul::Int8Matmul(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan,
                       const at::Tensor& input_absmax)
    : k_(weight.size(1)),
      n_(weight.size(0)),
      activation_max_(plan.int8_activation_max),
      rows_(cpu::int8_row_kernels(plan.vector_isa)),
      isa_(plan.vector_isa) {
  const auto smooth = int8_smoothing(weight, input_absmax);
  if (smooth.defined()) inv_smooth_ = smooth.reciprocal().contiguous();
  const auto q = quantize_weights(weight, smooth, plan.int8_weight_max, &col_scale_);
  col_sum_ = q.to(at::kInt).sum(1).to(at::kInt).contiguous();
  bias_ = bias.detach().to(at::kFloat).contiguous();
  plain_ = q.contiguous();
  if (plan.int8_product == Int8Product::kWide16) {
    packed16_ = at::empty({cpu::int8_gemm_packed_size(n_, k_)}, at::kShort);
    cpu::int8_gemm_pack(plain_.data_ptr<int8_t>(), n_, k_, packed16_.data_ptr<int16_t>());
    return;
  }
  // Pack for a block of rows; other row counts reuse the layout where oneDNN allows.
  const int64_t m = int8_block_rows();
  auto pd = dnnl_matmul_desc(u8_rows(m, k_), s8_any(k_, n_), nullptr, s32_rows(m, n_), dnnl_attr());
  packed_ = memory(pd.weights_desc(), dnnl_engine());
  memory plain(s8_plain(k_, n_), dnnl_engine(), plain_.data_ptr());
  dnnl_run(dnnl::reorder(plain, packed_), {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, packed_}});
}

void Int8Matmul::quantize(const float* x, int64_t rows, Int8Rows& out) const {
  const float* smooth = inv_smooth_.defined() ? inv_smooth_.data_ptr<float>() : nullptr;
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    rows_.quantize(x + begin * k_, end - begin, k_, k_, smooth, activation_max_,
                   out.codes.data_ptr<uint8_t>() + begin * k_, out.scale.data_ptr<float>() + begin,
                   out.zero.data_ptr<int32_t>() + begin);
  });
}

void Int8Matmul::quantize_epilogue(const cpu::Int8Epilogue& e, int64_t rows, Int8Rows& out) const {
  const float* smooth = inv_smooth_.defined() ? inv_smooth_.data_ptr<float>() : nullptr;
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(k_));  // one row, reused
    cpu::Int8Epilogue part = from_row(e, begin, k_);
    part.residual = nullptr;
    part.out = scratch.data();
    rows_.epilogue_quantize(
        part, end - begin, k_, smooth, activation_max_, out.codes.data_ptr<uint8_t>() + begin * k_,
        out.scale.data_ptr<float>() + begin, out.zero.data_ptr<int32_t>() + begin);
  });
}

std::shared_ptr<dnnl::matmul> Int8Matmul::primitive(int64_t rows, bool* packed) const {
  const std::string key = "int8|" + std::to_string(k_) + "x" + std::to_string(n_) + "|" +
                          std::to_string(rows) + dnnl_threads_key();
  auto cached = int8_cache().find(key).value_or(CachedInt8Matmul{});
  if (!cached.primitive) {
    try {
      cached.primitive = make_matmul(rows, k_, n_, packed_.get_desc());
    } catch (const dnnl::error&) {
      cached.packed_weights = false;
      cached.primitive = make_matmul(rows, k_, n_, s8_plain(k_, n_));
    }
    int8_cache().put(key, cached);
  }
  *packed = cached.packed_weights;
  return cached.primitive;
}

void Int8Matmul::multiply(const Int8Rows& in, int64_t rows, int32_t* acc) const {
  if (rows == 0) return;  // oneDNN 2.6 divides by zero building a matmul with no rows
  if (packed16_.defined()) return multiply_wide16(in, rows, acc);
  bool packed = true;
  const auto prim = primitive(rows, &packed);
  const memory::desc weights = packed ? packed_.get_desc() : s8_plain(k_, n_);
  void* w = packed ? packed_.get_data_handle() : plain_.data_ptr();
  run_matmul(*prim, u8_rows(rows, k_), in.codes.data_ptr(), weights, w, s32_rows(rows, n_), acc);
}

// The threads share the rows: each multiplies its rows by every weight panel.
void Int8Matmul::multiply_wide16(const Int8Rows& in, int64_t rows, int32_t* acc) const {
  const int64_t threads = at::get_num_threads();
  const int64_t grain = std::max<int64_t>(kRowGrain, (rows + threads - 1) / threads);
  const auto* codes = in.codes.data_ptr<uint8_t>();
  const auto* weights = packed16_.data_ptr<int16_t>();
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    cpu::int8_gemm(isa_, codes + begin * k_, end - begin, k_, weights, n_, acc + begin * n_);
  });
}

cpu::Int8Epilogue Int8Matmul::epilogue(const int32_t* acc, const Int8Rows& in) const {
  cpu::Int8Epilogue e;
  e.acc = acc;
  e.row_scale = in.scale.data_ptr<float>();
  e.row_zero = in.zero.data_ptr<int32_t>();
  e.col_scale = col_scale_.data_ptr<float>();
  e.col_sum = col_sum_.data_ptr<int32_t>();
  e.bias = bias_.data_ptr<float>();
  return e;
}

void Int8Matmul::finish(const cpu::Int8Epilogue& e, int64_t rows, const cpu::RowNorm* norm) const {
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    const cpu::Int8Epilogue part = from_row(e, begin, n_);
    if (norm != nullptr) {
      rows_.epilogue_norm(part, end - begin, n_, *norm);
    } else {
      rows_.epilogue(part, end - begin, n_);
    }
  });
}

const Int8Support& int8_support() {
  static const Int8Support support = probe_int8();
  return support;
}

#else  // !MTST_HAVE_DNNL

const Int8Support& int8_support() {
  static const Int8Support support{false, 0, 0, "",
                                   "precision int8 needs oneDNN, which this build "
                                   "of mtst does not have; use fp32"};
  return support;
}

#endif

}  // namespace mtst
