// The int8 product of one linear layer on the CPU, shared by the int8 linear backend
// (linear_int8_cpu_dnnl.cpp) and the fused int8 layer tail (layer_tail_int8_cpu_dnnl.cpp):
// the weights quantised once (SmoothQuant factors, symmetric s8 per output channel) and packed
// for oneDNN's u8*s8->s32 matmul (or for mtst's own 16-bit AVX2 kernel, where the plan picks
// it), and the steps around the product for one block of rows:
// quantise the rows, multiply, and the fp32 epilogue by mtst's row kernels. Callers run a
// layer block by block (int8_block_rows() rows), so a block's s32 products are read back
// while they are still in the core's cache instead of after a pass over the whole batch.
// Internal to src/ops; only in builds with oneDNN.
#pragma once

#ifdef MTST_HAVE_DNNL

#include <ATen/ATen.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "ops/kernel_plan.h"

namespace mtst {

// Rows per block of the int8 layers: 64 per thread (measured on an AMX Xeon: 64 beat 16, 32
// and 128 for the model's four products; 64 rows of 1536 s32 products are 384 KiB).
int64_t int8_block_rows();

// u8 activation codes of a block of rows with their per-row scales and zero points.
struct Int8Rows {
  Int8Rows(int64_t rows, int64_t cols);
  at::Tensor codes;  // [rows, cols] u8
  at::Tensor scale;  // [rows] float
  at::Tensor zero;   // [rows] int32
};

class Int8Matmul {
 public:
  // WEIGHT [N,K], BIAS [N] as trained; INPUT_ABSMAX [K] from calibration (may be undefined:
  // no smoothing).
  Int8Matmul(const at::Tensor& weight, const at::Tensor& bias, const KernelPlan& plan,
             const at::Tensor& input_absmax);
  int64_t in_features() const { return k_; }
  int64_t out_features() const { return n_; }

  // ROWS rows of X (float, row stride K) quantised into OUT's first ROWS rows.
  void quantize(const float* x, int64_t rows, Int8Rows& out) const;
  // The rows of a producer's epilogue E (no residual) quantised for this product into OUT,
  // without writing them as floats (E.out is ignored).
  void quantize_epilogue(const cpu::Int8Epilogue& e, int64_t rows, Int8Rows& out) const;
  // ACC [rows, N] = IN's first ROWS code rows times the weights, exact in s32.
  void multiply(const Int8Rows& in, int64_t rows, int32_t* acc) const;
  // The epilogue of ACC for IN's rows: scales, zero points and bias filled in; the caller
  // sets activation, residual and out.
  cpu::Int8Epilogue epilogue(const int32_t* acc, const Int8Rows& in) const;
  // Runs E over ROWS rows: into e.out, or normalised by NORM when given.
  void finish(const cpu::Int8Epilogue& e, int64_t rows, const cpu::RowNorm* norm = nullptr) const;

 private:
  std::shared_ptr<dnnl::matmul> primitive(int64_t rows, bool* packed) const;
  void multiply_wide16(const Int8Rows& in, int64_t rows, int32_t* acc) const;

  int64_t k_, n_;
  int32_t activation_max_;
  const cpu::Int8RowKernels& rows_;
  at::Tensor col_scale_, col_sum_, bias_, plain_;  // plain_: the s8 weights as [N,K]
  at::Tensor inv_smooth_;                          // [K], or undefined
  dnnl::memory packed_;
  at::Tensor packed16_;  // kWide16: the weights packed by cpu::int8_gemm_pack
  cpu::VectorIsa isa_;   // kWide16: the ISA of the kernel's tiles
};

}  // namespace mtst

#endif
