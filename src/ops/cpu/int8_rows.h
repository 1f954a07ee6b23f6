// Row kernels of the int8 layers: dynamic per-row (per-token) quantisation of fp32 activations
// to u8, and the fp32 epilogue that turns the s32 products back into activations (zero-point
// correction, row and column scales, bias, activation, residual), optionally followed by a
// layer norm or by the quantisation of its rows for the next product (so a feed-forward
// block's hidden rows never leave the cache as floats). Compiled once per vector ISA
// (int8_rows.cpp, see CMakeLists.txt); int8_row_kernels() picks the variant for the ISA the
// run uses (kernel_plan.h).
#pragma once

#include <cstdint>

#include "ops/cpu/vector_isa.h"

namespace mtst::cpu {

// What follows the integer product in one output row block.
struct Int8Epilogue {
  const int32_t* acc = nullptr;       // [rows, cols] s32 products of u8 rows and s8 weights
  const float* row_scale = nullptr;   // [rows] activation scales
  const int32_t* row_zero = nullptr;  // [rows] activation zero points
  const float* col_scale = nullptr;   // [cols] weight scales (per output channel)
  const int32_t* col_sum = nullptr;   // [cols] sums of each output channel's s8 weights
  const float* bias = nullptr;        // [cols]
  int activation = 0;                 // 0 none, 1 GELU (erf), 2 GELU (tanh), 3 ReLU
  const float* residual = nullptr;    // [rows, cols] added last, or null
  float* out = nullptr;               // [rows, cols]
};

// A layer norm over each row: (x - mean) / sqrt(var + eps) * weight + bias, weight and bias
// [cols].
struct RowNorm {
  const float* weight = nullptr;
  const float* bias = nullptr;
  float eps = 1e-12f;
};

struct Int8RowKernels {
  // Rows of X ([rows, cols], row stride LD), each column first multiplied by INV_SMOOTH[col]
  // (null: by 1), to u8 codes in [0, MAX_LEVEL]: x * inv_smooth ≈ scale * (q - zero), zero
  // chosen so that 0.0 is exact.
  void (*quantize)(const float* x, int64_t rows, int64_t cols, int64_t ld, const float* inv_smooth,
                   int32_t max_level, uint8_t* q, float* scale, int32_t* zero);
  // out = act(scale_r * scale_c * (acc - zero_r * sum_c) + bias) + residual.
  void (*epilogue)(const Int8Epilogue& e, int64_t rows, int64_t cols);
  // out = NORM(epilogue) row by row (in place in e.out).
  void (*epilogue_norm)(const Int8Epilogue& e, int64_t rows, int64_t cols, const RowNorm& norm);
  // The epilogue's rows (without residual) quantised as quantize() does, into Q, SCALE and
  // ZERO; e.out is a scratch row of COLS floats, not [rows, cols].
  void (*epilogue_quantize)(const Int8Epilogue& e, int64_t rows, int64_t cols,
                            const float* inv_smooth, int32_t max_level, uint8_t* q, float* scale,
                            int32_t* zero);
  // out = NORM(x) row by row (x, out [rows, cols]; may be the same).
  void (*norm)(const float* x, int64_t rows, int64_t cols, const RowNorm& norm, float* out);
  const char* name;
};

const Int8RowKernels& int8_row_kernels(VectorIsa isa);

// One declaration per compiled variant (namespaces named by int8_rows.cpp's MTST_KERNEL_NS).
#define MTST_DECLARE_INT8_ROWS(ns)                                                                 \
  namespace ns {                                                                                   \
  void quantize_rows(const float* x, int64_t rows, int64_t cols, int64_t ld,                       \
                     const float* inv_smooth, int32_t max_level, uint8_t* q, float* scale,         \
                     int32_t* zero);                                                               \
  void dequantize_rows(const Int8Epilogue& e, int64_t rows, int64_t cols);                         \
  void dequantize_norm_rows(const Int8Epilogue& e, int64_t rows, int64_t cols,                     \
                            const RowNorm& norm);                                                  \
  void requantize_rows(const Int8Epilogue& e, int64_t rows, int64_t cols, const float* inv_smooth, \
                       int32_t max_level, uint8_t* q, float* scale, int32_t* zero);                \
  void norm_rows(const float* x, int64_t rows, int64_t cols, const RowNorm& norm, float* out);     \
  }
MTST_DECLARE_INT8_ROWS(isa_default)
MTST_DECLARE_INT8_ROWS(isa_avx2)
MTST_DECLARE_INT8_ROWS(isa_avx512)
#undef MTST_DECLARE_INT8_ROWS

}  // namespace mtst::cpu
