// Q, K and V laid out for the attention products: the row kernel that gathers token rows of
// a fused QKV projection ([N, 3*A*D]: per row Q, K, V, each A heads of D values) into
// head-major groups [3, S, A, L, D] (S sentences of L positions), optionally converting float
// to bf16 on the way. One pass over the data replaces a gather of the rows and a permuting
// copy. Compiled once per vector ISA (attention_heads.cpp, see CMakeLists.txt);
// attention_head_kernels() picks the variant for the ISA the run uses (kernel_plan.h).
#pragma once

#include <cstdint>

#include "ops/cpu/vector_isa.h"

namespace mtst::cpu {

struct HeadLayout {
  int64_t sentences = 0, length = 0;  // S, L
  int64_t heads = 0, head_dim = 0;    // A, D
  // Position p = s * L + t reads QKV row ROWS[p]; null: row p.
  const int64_t* rows = nullptr;
};

struct AttentionHeadKernels {
  // Float rows into float heads (an exact copy).
  void (*gather_float)(const float* qkv, const HeadLayout& layout, float* out);
  // Float rows into bf16 heads (round to nearest even), as raw bf16 bits.
  void (*gather_float_to_bf16)(const float* qkv, const HeadLayout& layout, uint16_t* out);
  // bf16 rows into bf16 heads (an exact copy).
  void (*gather_bf16)(const uint16_t* qkv, const HeadLayout& layout, uint16_t* out);
};

const AttentionHeadKernels& attention_head_kernels(VectorIsa isa);

// One declaration per compiled variant (namespaces named by MTST_KERNEL_NS).
#define MTST_DECLARE_ATTENTION_HEADS(ns)                                           \
  namespace ns {                                                                   \
  void gather_heads(const float* qkv, const HeadLayout& layout, float* out);       \
  void gather_heads(const float* qkv, const HeadLayout& layout, uint16_t* out);    \
  void gather_heads(const uint16_t* qkv, const HeadLayout& layout, uint16_t* out); \
  }
MTST_DECLARE_ATTENTION_HEADS(isa_default)
MTST_DECLARE_ATTENTION_HEADS(isa_avx2)
MTST_DECLARE_ATTENTION_HEADS(isa_avx512)
#undef MTST_DECLARE_ATTENTION_HEADS

}  // namespace mtst::cpu
