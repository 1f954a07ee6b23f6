// Picks the compiled variant of the attention head gather for a vector ISA.
#include "ops/cpu/attention_heads.h"

namespace mtst::cpu {

namespace {
template <typename In, typename Out>
using Gather = void (*)(const In*, const HeadLayout&, Out*);
}  // namespace

#define MTST_ATTENTION_HEADS(ns)                                  \
  AttentionHeadKernels {                                          \
    static_cast<Gather<float, float>>(ns::gather_heads),          \
        static_cast<Gather<float, uint16_t>>(ns::gather_heads),   \
        static_cast<Gather<uint16_t, uint16_t>>(ns::gather_heads) \
  }

const AttentionHeadKernels& attention_head_kernels(VectorIsa isa) {
  static const AttentionHeadKernels avx512 = MTST_ATTENTION_HEADS(isa_avx512);
  static const AttentionHeadKernels avx2 = MTST_ATTENTION_HEADS(isa_avx2);
  static const AttentionHeadKernels plain = MTST_ATTENTION_HEADS(isa_default);
  return variant_for(isa, avx512, avx2, plain);
}

#undef MTST_ATTENTION_HEADS

}  // namespace mtst::cpu
