// The AVX-512 tiles of the exact 16-bit int8 product (int8_gemm.h), compiled with -mavx512bw:
// one zmm register holds one k pair of a whole panel (16 columns of 16-bit weight pairs), so a
// tile of kTileRows widened rows by kTilePanels panels keeps its sums in 16 registers while
// the k pairs stream past: per pair, one load per panel, one broadcast of each row's two
// activations, and a vpmaddwd and vpaddd per (row, panel). For AVX-512 CPUs without VNNI
// (Skylake-class Xeons), where vpmaddubsw would saturate 8-bit weights.
// No standard-library templates here: their instances are shared with the rest of the program
// at link time, and must not carry AVX-512 instructions to CPUs without it.
#include <immintrin.h>

#include <cstring>

#include "ops/cpu/int8_gemm.h"

namespace mtst::cpu {

namespace {

constexpr int kTileRows = 8;
constexpr int kTilePanels = 2;  // 16 accumulators, 2 weight vectors, 1 broadcast, 1 product
constexpr int64_t kPanelPairValues = kInt8GemmPanelCols * 2;  // int16 values per k pair

__m512i broadcast_pair(const int16_t* row, int64_t q) {
  int32_t pair;
  std::memcpy(&pair, row + 2 * q, sizeof(pair));
  return _mm512_set1_epi32(pair);
}

// C[R rows, P panels] (row stride LDC) = R rows of A16 (row stride LDA) times the P panels
// starting at B (panel stride KP pairs). The remainders of a product; full tiles below.
template <int R, int P>
void tile(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int32_t* c, int64_t ldc) {
  __m512i acc[R][P];
  for (int r = 0; r < R; ++r) {
    for (int p = 0; p < P; ++p) acc[r][p] = _mm512_setzero_si512();
  }
  for (int64_t q = 0; q < kp; ++q) {
    __m512i w[P];
    for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_si512(b + (p * kp + q) * kPanelPairValues);
    for (int r = 0; r < R; ++r) {
      const __m512i x = broadcast_pair(a + r * lda, q);
      for (int p = 0; p < P; ++p) {
        acc[r][p] = _mm512_add_epi32(acc[r][p], _mm512_madd_epi16(x, w[p]));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int p = 0; p < P; ++p) _mm512_storeu_si512(c + r * ldc + p * 16, acc[r][p]);
  }
}

// tile<kTileRows, kTilePanels> with one named variable per accumulator, which GCC keeps in
// registers (the AVX2 tile's array form spilled).
void full_tile(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int32_t* c,
               int64_t ldc) {
  __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  __m512i c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  const int16_t* b1 = b + kp * kPanelPairValues;
  for (int64_t q = 0; q < kp; ++q, b += kPanelPairValues, b1 += kPanelPairValues) {
    const __m512i w0 = _mm512_loadu_si512(b), w1 = _mm512_loadu_si512(b1);
#define MTST_ROW(i)                                                \
  {                                                                \
    const __m512i x = broadcast_pair(a + i * lda, q);              \
    c##i##0 = _mm512_add_epi32(c##i##0, _mm512_madd_epi16(x, w0)); \
    c##i##1 = _mm512_add_epi32(c##i##1, _mm512_madd_epi16(x, w1)); \
  }
    MTST_ROW(0) MTST_ROW(1) MTST_ROW(2) MTST_ROW(3) MTST_ROW(4) MTST_ROW(5) MTST_ROW(6) MTST_ROW(7)
#undef MTST_ROW
  }
  const __m512i out[kTileRows][kTilePanels] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                               {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  for (int r = 0; r < kTileRows; ++r) {
    for (int p = 0; p < kTilePanels; ++p) _mm512_storeu_si512(c + r * ldc + p * 16, out[r][p]);
  }
}

using TileFn = void (*)(const int16_t*, int64_t, const int16_t*, int64_t, int32_t*, int64_t);

TileFn tile_of(int64_t rows, int64_t panels) {
  static const TileFn one[kTileRows] = {tile<1, 1>, tile<2, 1>, tile<3, 1>, tile<4, 1>,
                                        tile<5, 1>, tile<6, 1>, tile<7, 1>, tile<8, 1>};
  static const TileFn two[kTileRows] = {tile<1, 2>, tile<2, 2>, tile<3, 2>, tile<4, 2>,
                                        tile<5, 2>, tile<6, 2>, tile<7, 2>, full_tile};
  return panels == kTilePanels ? two[rows - 1] : one[rows - 1];
}

}  // namespace

void int8_gemm_wide_avx512(const int16_t* wide, int64_t rows, int64_t kp, const int16_t* packed,
                           int64_t n, int32_t* c) {
  const int64_t kpad = 2 * kp, panel_count = (n + kInt8GemmPanelCols - 1) / kInt8GemmPanelCols;
  constexpr int64_t kTileCols = kTilePanels * kInt8GemmPanelCols;
  int32_t part[kTileRows * kTileCols];  // a tile whose last panel is partial
  for (int64_t p = 0; p < panel_count; p += kTilePanels) {
    const int64_t tp = panel_count - p < kTilePanels ? panel_count - p : kTilePanels;
    const int64_t col = p * kInt8GemmPanelCols;
    const int64_t width = n - col < tp * kInt8GemmPanelCols ? n - col : tp * kInt8GemmPanelCols;
    const int16_t* b = packed + p * kp * kPanelPairValues;
    for (int64_t r = 0; r < rows; r += kTileRows) {
      const int64_t tr = rows - r < kTileRows ? rows - r : kTileRows;
      const int16_t* x = wide + r * kpad;
      if (width == tp * kInt8GemmPanelCols) {
        tile_of(tr, tp)(x, kpad, b, kp, c + r * n + col, n);
        continue;
      }
      tile_of(tr, tp)(x, kpad, b, kp, part, kTileCols);
      for (int64_t i = 0; i < tr; ++i) {
        std::memcpy(c + (r + i) * n + col, part + i * kTileCols, width * sizeof(int32_t));
      }
    }
  }
}

}  // namespace mtst::cpu
