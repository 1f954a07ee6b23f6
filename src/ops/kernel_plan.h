// The one place where a run's precision, its device and the CPU's instruction sets become
// kernels: which matmul the linear layers run, which vector ISA mtst's own row kernels use,
// and how int8 activations are coded so that the CPU's integer products stay exact. Made once
// per (precision, device); `mtst bench encode` and the server's /info print describe().
// The ISA follows oneDNN's effective one, so ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA (set before
// the process starts) lower both oneDNN's and mtst's kernels: that is how the AVX2 path is
// tested on AVX-512 machines.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "mtst/runtime/exec_options.h"
#include "ops/cpu/int8_rows.h"

namespace mtst {

// Which code multiplies the int8 codes: oneDNN's u8*s8->s32 matmul, or mtst's own exact
// 16-bit kernel (ops/cpu/int8_gemm.h, in the plan's vector_isa) on AVX2 and AVX-512 CPUs
// without VNNI, where oneDNN's would saturate 8-bit weights.
enum class Int8Product { kOneDnn, kWide16 };

// What a linear layer does in the encoder; a plan may run some roles in another precision.
enum class LinearRole { kQkv, kAttentionOutput, kFfnInput, kFfnOutput };

struct KernelPlan {
  Precision precision = Precision::kFp32;
  c10::Device device = c10::kCPU;
  std::string cpu_isa;  // oneDNN's effective ISA, e.g. "avx512_core_vnni" ("" without oneDNN)
  cpu::VectorIsa vector_isa = cpu::VectorIsa::kDefault;  // mtst's own row kernels
  std::string linear;                                    // what the linear layers run, in words
  // int8: u8 activation codes go up to 255 and s8 weight codes to +-127. Where oneDNN's u8*s8
  // instruction (vpmaddubsw: AVX2, AVX-512 without VNNI) would saturate its 16-bit pair sums,
  // mtst's own 16-bit kernel multiplies instead (Int8Product::kWide16); on a CPU with neither
  // (older than AVX2) oneDNN gets weights up to +-63: 2 * 255 * 63 < 32767 keeps every
  // product exact.
  Int8Product int8_product = Int8Product::kOneDnn;
  int32_t int8_activation_max = 255;
  int32_t int8_weight_max = 127;
  // int8 with 7-bit weights keeps the FFN output projection (1536 -> 384) in fp32: measured on
  // the real model, 7-bit weights there cost the most quality (min cosine to fp32 0.984 with
  // it in int8), and an fp32 product costs about what two exact 7-bit halves would.
  bool int8_ffn_output = true;
  // The attention products' operands (Q, K, V and the probabilities; scores and softmax stay
  // in the activations' dtype). int8 runs them in bf16 where oneDNN has native bf16 kernels
  // (avx512_bf16, AMX): measured on a Zen 4 EPYC, they take half the time of fp32 ones, and the
  // int8 quality bounds (int8_quality_test) hold with them.
  Precision attention_precision = Precision::kFp32;
  // The precision a linear layer of ROLE runs in.
  Precision linear_precision(LinearRole role) const;
  std::string describe() const;
};

// The plan of PRECISION on DEVICE (cached). For int8 it requires int8_support().available.
const KernelPlan& kernel_plan(Precision precision, const c10::Device& device = c10::kCPU);

struct Int8Support {
  bool available = false;
  int32_t activation_max = 0;  // u8 codes and s8 weight codes whose products are exact here
  int32_t weight_max = 0;
  std::string matmul;   // oneDNN's implementation, e.g. "brg:avx512_core_vnni"
  std::string why_not;  // when not available: one sentence for the user
};
// Probed once: oneDNN's u8·s8 matmul run on extreme values and checked for saturation.
const Int8Support& int8_support();

}  // namespace mtst
