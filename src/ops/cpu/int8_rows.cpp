// The int8 row kernels (int8_rows.h), written as plain loops that the compiler vectorises for
// the ISA this file is built for: CMake compiles it three times (-mavx512*, -mavx2 -mfma, and
// the baseline) with MTST_KERNEL_NS naming the variant. -ffast-math -fopenmp-simd lets GCC
// call glibc's vector erf/tanh (libmvec); inputs are finite activations. Multiply-adds are
// fused where the ISA has FMA (-ffp-contract=fast); quantize_row() is written so that this
// cannot change its codes, which are the same in every variant.
#include "ops/cpu/int8_rows.h"

#include <algorithm>
#include <cmath>

#ifndef MTST_KERNEL_NS
#error "int8_rows.cpp is built once per ISA with MTST_KERNEL_NS set (see CMakeLists.txt)"
#endif

namespace mtst::cpu::MTST_KERNEL_NS {

namespace {

void quantize_row(const float* __restrict x, int64_t cols, const float* __restrict smooth,
                  int32_t max_level, uint8_t* __restrict q, float* scale, int32_t* zero) {
  float lo = 0.0f, hi = 0.0f;  // 0 stays exactly representable (padding, ReLU zeros)
#pragma omp simd reduction(min : lo) reduction(max : hi)
  for (int64_t k = 0; k < cols; ++k) {
    const float v = x[k] * smooth[k];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const float levels = static_cast<float>(max_level);
  const float s = hi > lo ? (hi - lo) / levels : 1.0f;
  const float inv = 1.0f / s;
  const int32_t z =
      static_cast<int32_t>(std::min(levels, std::max(0.0f, std::nearbyint(-lo * inv))));
  *scale = s;
  *zero = z;
  // Rounded before the zero point is added (in integers): products only, so no variant can
  // fuse a multiply-add here, and every variant gives the same codes.
#pragma omp simd
  for (int64_t k = 0; k < cols; ++k) {
    const int32_t level = static_cast<int32_t>(std::nearbyint((x[k] * smooth[k]) * inv)) + z;
    q[k] = static_cast<uint8_t>(std::min(max_level, std::max(0, level)));
  }
}

// erf by Abramowitz & Stegun 7.1.28 (|error| <= 3e-7, below int8's own error by far): a
// polynomial and four squarings, which vectorise without a math library call (glibc's vector
// erff took 6.5 % of an int8 encode here). |x| is clamped at 4, where erf is 1 in float.
inline float erf_fast(float x) {
  const float a = std::min(std::fabs(x), 4.0f);
  float p = 1.0f + a * (0.0705230784f +
                        a * (0.0422820123f +
                             a * (0.0092705272f +
                                  a * (0.0001520143f + a * (0.0002765672f + a * 0.0000430638f)))));
  p *= p;
  p *= p;
  p *= p;
  p *= p;
  return std::copysign(1.0f - 1.0f / p, x);
}

inline float activate(float v, int activation) {
  switch (activation) {
    case 1:
      return 0.5f * v * (1.0f + erf_fast(v * 0.70710678118654752f));
    case 2:
      return 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case 3:
      return std::max(v, 0.0f);
    default:
      return v;
  }
}

// Row R of the epilogue into OUT (cols floats).
template <int kActivation, bool kResidual>
void dequantize_row(const Int8Epilogue& e, int64_t r, int64_t cols, float* __restrict out) {
  const int32_t* __restrict acc = e.acc + r * cols;
  const float* __restrict cs = e.col_scale;
  const int32_t* __restrict sum = e.col_sum;
  const float* __restrict bias = e.bias;
  const float* __restrict res = kResidual ? e.residual + r * cols : nullptr;
  const float rs = e.row_scale[r];
  const int32_t rz = e.row_zero[r];
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) {
    const float v = static_cast<float>(acc[c] - rz * sum[c]) * (rs * cs[c]) + bias[c];
    out[c] = kResidual ? activate(v, kActivation) + res[c] : activate(v, kActivation);
  }
}

template <int kActivation>
void dequantize_row(const Int8Epilogue& e, int64_t r, int64_t cols, float* out) {
  if (e.residual != nullptr) {
    dequantize_row<kActivation, true>(e, r, cols, out);
  } else {
    dequantize_row<kActivation, false>(e, r, cols, out);
  }
}

void dequantize_row(const Int8Epilogue& e, int64_t r, int64_t cols, float* out) {
  switch (e.activation) {
    case 1:
      return dequantize_row<1>(e, r, cols, out);
    case 2:
      return dequantize_row<2>(e, r, cols, out);
    case 3:
      return dequantize_row<3>(e, r, cols, out);
    default:
      return dequantize_row<0>(e, r, cols, out);
  }
}

// Layer norm of one row, statistics in float over the row (two passes: mean, then variance).
void norm_row(const float* x, int64_t cols, const RowNorm& n, float* out) {  // x may be out
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < cols; ++c) sum += x[c];
  const float mean = sum / static_cast<float>(cols);
  float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
  for (int64_t c = 0; c < cols; ++c) sq += (x[c] - mean) * (x[c] - mean);
  const float inv = 1.0f / std::sqrt(sq / static_cast<float>(cols) + n.eps);
  const float* __restrict w = n.weight;
  const float* __restrict b = n.bias;
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) out[c] = (x[c] - mean) * inv * w[c] + b[c];
}

// V, or a row of COLS ones where V is null. A plain array, not a std::vector: out-of-line
// instances of standard templates are shared with the rest of the program at link time, and
// must not carry this file's vector ISA to CPUs without it (tests: build.isa_objects).
class OnesIfNull {
 public:
  OnesIfNull(const float* v, int64_t cols)
      : owned_(v == nullptr ? new float[static_cast<size_t>(cols)] : nullptr), row_(v) {
    if (owned_ == nullptr) return;
    for (int64_t c = 0; c < cols; ++c) owned_[c] = 1.0f;
    row_ = owned_;
  }
  ~OnesIfNull() { delete[] owned_; }
  OnesIfNull(const OnesIfNull&) = delete;
  OnesIfNull& operator=(const OnesIfNull&) = delete;
  const float* get() const { return row_; }

 private:
  float* owned_;
  const float* row_;
};

}  // namespace

void quantize_rows(const float* x, int64_t rows, int64_t cols, int64_t ld, const float* inv_smooth,
                   int32_t max_level, uint8_t* q, float* scale, int32_t* zero) {
  const OnesIfNull smooth(inv_smooth, cols);
  inv_smooth = smooth.get();
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(x + r * ld, cols, inv_smooth, max_level, q + r * cols, scale + r, zero + r);
  }
}

void dequantize_rows(const Int8Epilogue& e, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) dequantize_row(e, r, cols, e.out + r * cols);
}

void dequantize_norm_rows(const Int8Epilogue& e, int64_t rows, int64_t cols, const RowNorm& norm) {
  for (int64_t r = 0; r < rows; ++r) {
    float* out = e.out + r * cols;
    dequantize_row(e, r, cols, out);
    norm_row(out, cols, norm, out);
  }
}

void requantize_rows(const Int8Epilogue& e, int64_t rows, int64_t cols, const float* inv_smooth,
                     int32_t max_level, uint8_t* q, float* scale, int32_t* zero) {
  const OnesIfNull smooth(inv_smooth, cols);
  inv_smooth = smooth.get();
  Int8Epilogue no_residual = e;
  no_residual.residual = nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(no_residual, r, cols, e.out);
    quantize_row(e.out, cols, inv_smooth, max_level, q + r * cols, scale + r, zero + r);
  }
}

void norm_rows(const float* x, int64_t rows, int64_t cols, const RowNorm& norm, float* out) {
  for (int64_t r = 0; r < rows; ++r) norm_row(x + r * cols, cols, norm, out + r * cols);
}

}  // namespace mtst::cpu::MTST_KERNEL_NS
