// The ISA-neutral half of the exact 16-bit int8 product (int8_gemm.h): the CPU check, the
// weight packing, the widening of activation rows into a per-thread buffer and the choice of
// the ISA's tiles (or a plain loop for an ISA without tiles), compiled without vector ISA
// flags so that they run on any x86-64 CPU.
#include "ops/cpu/int8_gemm.h"

#include <cstddef>
#include <vector>

namespace mtst::cpu {

namespace {
int64_t panels(int64_t n) { return (n + kInt8GemmPanelCols - 1) / kInt8GemmPanelCols; }
int64_t pairs(int64_t k) { return (k + 1) / 2; }

// Rows of A as 16-bit values, each padded with a zero to 2 * KP columns.
void widen(const uint8_t* a, int64_t rows, int64_t k, int64_t kp, int16_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* in = a + r * k;
    int16_t* row = out + r * 2 * kp;
    for (int64_t i = 0; i < k; ++i) row[i] = in[i];
    for (int64_t i = k; i < 2 * kp; ++i) row[i] = 0;
  }
}
// The product of widened rows and packed weights in plain loops: what int8_gemm runs for an
// ISA without tiles of its own (the plan does not choose this kernel there).
void wide_plain(const int16_t* wide, int64_t rows, int64_t kp, const int16_t* packed, int64_t n,
                int32_t* c) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      const int16_t* w = packed + (j / kInt8GemmPanelCols) * kp * kInt8GemmPanelCols * 2 +
                         (j % kInt8GemmPanelCols) * 2;
      const int16_t* a = wide + r * 2 * kp;
      int32_t sum = 0;
      for (int64_t q = 0; q < kp; ++q, w += kInt8GemmPanelCols * 2) {
        sum += a[2 * q] * w[0] + a[2 * q + 1] * w[1];
      }
      c[r * n + j] = sum;
    }
  }
}
}  // namespace

bool int8_gemm_supported(VectorIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  switch (isa) {
    case VectorIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    case VectorIsa::kAvx2:
      return __builtin_cpu_supports("avx2");
    default:
      return false;
  }
#else
  (void)isa;
  return false;
#endif
}

int64_t int8_gemm_packed_size(int64_t n, int64_t k) {
  return panels(n) * pairs(k) * kInt8GemmPanelCols * 2;
}

// Panel p, k pair q, column j, element e holds W[p * kInt8GemmPanelCols + j][2q + e] (zero
// past N or K): one k pair of a panel's columns is one contiguous run of 16-bit (w0, w1) pairs,
// the operand vpmaddwd multiplies with a broadcast pair of activations.
void int8_gemm_pack(const int8_t* w, int64_t n, int64_t k, int16_t* packed) {
  const int64_t kp = pairs(k);
  for (int64_t p = 0; p < panels(n); ++p) {
    for (int64_t q = 0; q < kp; ++q) {
      int16_t* out = packed + (p * kp + q) * kInt8GemmPanelCols * 2;
      for (int64_t j = 0; j < kInt8GemmPanelCols; ++j) {
        const int64_t col = p * kInt8GemmPanelCols + j;
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t kk = 2 * q + e;
          out[2 * j + e] = (col < n && kk < k) ? w[col * k + kk] : 0;
        }
      }
    }
  }
}

void int8_gemm(VectorIsa isa, const uint8_t* a, int64_t rows, int64_t k, const int16_t* packed,
               int64_t n, int32_t* c) {
  thread_local std::vector<int16_t> wide;
  const int64_t kp = pairs(k);
  wide.resize(static_cast<std::size_t>(rows * 2 * kp));
  widen(a, rows, k, kp, wide.data());
  if (!int8_gemm_supported(isa)) {
    wide_plain(wide.data(), rows, kp, packed, n, c);
  } else if (isa == VectorIsa::kAvx512) {
    int8_gemm_wide_avx512(wide.data(), rows, kp, packed, n, c);
  } else {
    int8_gemm_wide_avx2(wide.data(), rows, kp, packed, n, c);
  }
}

}  // namespace mtst::cpu
