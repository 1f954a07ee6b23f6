// The AVX2 tiles of the exact 16-bit int8 product (int8_gemm.h), compiled with -mavx2: tiles
// of kTileRows widened rows by one panel of kInt8GemmPanelCols columns held in registers
// while the k pairs stream past: per pair, one load of each panel vector, one broadcast of
// each row's two activations, and a vpmaddwd and vpaddd per (row, vector).
// No standard-library templates here: their instances are shared with the rest of the program
// at link time, and must not carry AVX2 instructions to CPUs without it.
#include <immintrin.h>

#include <cstring>

#include "ops/cpu/int8_gemm.h"

namespace mtst::cpu {

namespace {

constexpr int kVectors = kInt8GemmPanelCols / 8;
constexpr int kTileRows = 6;  // 12 accumulators, 2 weight vectors, 1 broadcast, 1 product

// C[R rows, one panel] (row stride LDC) = R rows of A16 (row stride LDA) times panel B.
template <int R>
void tile(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int32_t* c, int64_t ldc) {
  __m256i acc[R][kVectors];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm256_setzero_si256();
  }
  for (int64_t q = 0; q < kp; ++q) {
    __m256i w[kVectors];
    for (int v = 0; v < kVectors; ++v) {
      w[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + (q * kVectors + v) * 16));
    }
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * q, sizeof(pair));
      const __m256i x = _mm256_set1_epi32(pair);
      for (int v = 0; v < kVectors; ++v) {
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(x, w[v]));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + v * 8), acc[r][v]);
    }
  }
}

// tile<kTileRows> written out with one named variable per accumulator: GCC keeps these in
// registers, where it spills the array form of the same loop (measured 55 against 90 G MAC/s).
void full_tile(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int32_t* c,
               int64_t ldc) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
  const int16_t *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  for (int64_t q = 0; q < kp; ++q, b += 32) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
#define MTST_ROW(i)                                                \
  {                                                                \
    int32_t pair;                                                  \
    std::memcpy(&pair, a##i + 2 * q, sizeof(pair));                \
    const __m256i x = _mm256_set1_epi32(pair);                     \
    c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(x, w0)); \
    c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(x, w1)); \
  }
    MTST_ROW(0) MTST_ROW(1) MTST_ROW(2) MTST_ROW(3) MTST_ROW(4) MTST_ROW(5)
#undef MTST_ROW
  }
  const __m256i out[kTileRows][kVectors] = {{c00, c01}, {c10, c11}, {c20, c21},
                                            {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < kTileRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + v * 8), out[r][v]);
    }
  }
}

using TileFn = void (*)(const int16_t*, int64_t, const int16_t*, int64_t, int32_t*, int64_t);

TileFn tile_of(int64_t rows) {
  static const TileFn tiles[kTileRows] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, full_tile};
  return tiles[rows - 1];
}

}  // namespace

void int8_gemm_wide_avx2(const int16_t* wide, int64_t rows, int64_t kp, const int16_t* packed,
                         int64_t n, int32_t* c) {
  const int64_t kpad = 2 * kp;
  int32_t part[kTileRows * kInt8GemmPanelCols];  // a tile of the last, partial panel
  for (int64_t col = 0; col < n; col += kInt8GemmPanelCols) {
    const int16_t* b = packed + (col / kInt8GemmPanelCols) * kp * kInt8GemmPanelCols * 2;
    const int64_t width = n - col < kInt8GemmPanelCols ? n - col : kInt8GemmPanelCols;
    for (int64_t r = 0; r < rows; r += kTileRows) {
      const int64_t tr = rows - r < kTileRows ? rows - r : kTileRows;
      const int16_t* x = wide + r * kpad;
      if (width == kInt8GemmPanelCols) {
        tile_of(tr)(x, kpad, b, kp, c + r * n + col, n);
        continue;
      }
      tile_of(tr)(x, kpad, b, kp, part, kInt8GemmPanelCols);
      for (int64_t i = 0; i < tr; ++i) {
        std::memcpy(c + (r + i) * n + col, part + i * kInt8GemmPanelCols, width * sizeof(int32_t));
      }
    }
  }
}

}  // namespace mtst::cpu
