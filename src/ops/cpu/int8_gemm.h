// mtst's own exact u8*s8->s32 product for CPUs whose 8-bit multiply instruction saturates
// (AVX2 and AVX-512 without VNNI: vpmaddubsw adds pairs of u8*s8 products in 16 bits, so full
// 8-bit codes would overflow). Both operands are widened to 16 bits and multiplied with
// vpmaddwd, which adds each pair of products in 32 bits: exact for every u8 activation and s8
// weight, so the int8 path keeps 8-bit weights on these CPUs. The weights are packed once into
// panels of 16-bit pairs; each call widens its rows of activations and runs a register-blocked
// tile over the panels. The tiles are compiled once per vector ISA: int8_gemm_avx2.cpp with
// -mavx2 (ymm), int8_gemm_avx512.cpp with -mavx512bw (zmm); packing, widening and the CPU
// check here are ISA-neutral. Callers check int8_gemm_supported() first. The oracle is the
// exact ATen product (int8_gemm_test.cpp and the int8 layer tests).
#pragma once

#include <cstdint>

#include "ops/cpu/vector_isa.h"

namespace mtst::cpu {

// Columns per packed panel: one AVX-512 vector, or two AVX2 vectors, of s32 sums.
constexpr int64_t kInt8GemmPanelCols = 16;

// Whether this CPU runs the kernel's ISA variant (reads CPUID); never for kDefault.
bool int8_gemm_supported(VectorIsa isa);

// int16 elements the packed form of an [N, K] weight matrix takes.
int64_t int8_gemm_packed_size(int64_t n, int64_t k);

// W [N, K] s8 (row-major) into PACKED (int8_gemm_packed_size(n, k) elements).
void int8_gemm_pack(const int8_t* w, int64_t n, int64_t k, int16_t* packed);

// C [ROWS, N] (row stride N) = A [ROWS, K] (u8, row stride K) times the packed weights,
// transposed: C[r][j] = sum_k A[r][k] * W[j][k], exact in s32, with ISA's tiles (plain loops,
// slow but exact, where int8_gemm_supported(ISA) is false). One thread; the widened rows live
// in a buffer of the calling thread's.
void int8_gemm(VectorIsa isa, const uint8_t* a, int64_t rows, int64_t k, const int16_t* packed,
               int64_t n, int32_t* c);

// The per-ISA parts: the same product from rows already widened to 16 bits (WIDE: ROWS rows
// of 2 * KP values, K padded with zeros to KP pairs).
void int8_gemm_wide_avx2(const int16_t* wide, int64_t rows, int64_t kp, const int16_t* packed,
                         int64_t n, int32_t* c);
void int8_gemm_wide_avx512(const int16_t* wide, int64_t rows, int64_t kp, const int16_t* packed,
                           int64_t n, int32_t* c);

}  // namespace mtst::cpu
