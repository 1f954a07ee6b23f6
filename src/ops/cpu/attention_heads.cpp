// The attention head gather (attention_heads.h), plain loops the compiler vectorises for the
// ISA this file is built for (CMake compiles it once per variant, MTST_KERNEL_NS naming it).
#include "ops/cpu/attention_heads.h"

#include <cstring>

#ifndef MTST_KERNEL_NS
#error "attention_heads.cpp is built once per ISA with MTST_KERNEL_NS set (see CMakeLists.txt)"
#endif

namespace mtst::cpu::MTST_KERNEL_NS {

namespace {

// D values of one head: copied, or rounded from float to bf16 (to nearest even; inputs are
// finite activations).
inline void put(const float* __restrict src, int64_t n, float* __restrict dst) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
inline void put(const uint16_t* __restrict src, int64_t n, uint16_t* __restrict dst) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(uint16_t));
}
inline void put(const float* __restrict src, int64_t n, uint16_t* __restrict dst) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, src + i, sizeof(bits));
    dst[i] = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  }
}

template <typename In, typename Out>
void gather(const In* qkv, const HeadLayout& l, Out* out) {
  const int64_t S = l.sentences, L = l.length, A = l.heads, D = l.head_dim;
  const int64_t width = 3 * A * D;
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t t = 0; t < L; ++t) {
      const int64_t p = s * L + t;
      const In* row = qkv + (l.rows != nullptr ? l.rows[p] : p) * width;
      for (int64_t part = 0; part < 3; ++part) {
        for (int64_t a = 0; a < A; ++a) {
          Out* dst = out + (((part * S + s) * A + a) * L + t) * D;
          put(row + (part * A + a) * D, D, dst);
        }
      }
    }
  }
}

}  // namespace

void gather_heads(const float* qkv, const HeadLayout& layout, float* out) {
  gather(qkv, layout, out);
}
void gather_heads(const float* qkv, const HeadLayout& layout, uint16_t* out) {
  gather(qkv, layout, out);
}
void gather_heads(const uint16_t* qkv, const HeadLayout& layout, uint16_t* out) {
  gather(qkv, layout, out);
}

}  // namespace mtst::cpu::MTST_KERNEL_NS
