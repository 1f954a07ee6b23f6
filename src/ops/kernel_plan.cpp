// KernelPlan (kernel_plan.h): the effective ISA read from oneDNN, and the linear kernels each
// precision gets on it.
#include "ops/kernel_plan.h"

#include <map>
#include <mutex>
#include <utility>

#include "mtst/error.h"
#include "ops/cpu/int8_gemm.h"
#include "ops/matmul_cpu_dnnl.h"
#include "runtime/dnnl_compat.h"

namespace mtst {

namespace {

#ifdef MTST_HAVE_DNNL
cpu::VectorIsa vector_isa_of(unsigned isa) {
  // oneDNN's ISA values are bit masks that contain the masks of the ISAs they extend (the
  // same numbers in oneDNN 2.x and 3.x for these two).
  constexpr unsigned kAvx512Core = 0x27, kAvx2 = 0x7;
  if ((isa & kAvx512Core) == kAvx512Core) return cpu::VectorIsa::kAvx512;
  if ((isa & kAvx2) == kAvx2) return cpu::VectorIsa::kAvx2;
  return cpu::VectorIsa::kDefault;
}
#endif

Precision attention_precision_of(const KernelPlan& plan) {
  if (plan.precision != Precision::kInt8) return plan.precision;
#ifdef MTST_HAVE_DNNL
  constexpr unsigned kAvx512CoreBf16 = 0xe7;  // contained in the AMX ISAs' masks as well
  const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  if (plan.device.is_cpu() && (isa & kAvx512CoreBf16) == kAvx512CoreBf16 && dnnl_bf16_available()) {
    return Precision::kBf16;
  }
#endif
  return Precision::kFp32;
}

std::string linear_words(const KernelPlan& plan) {
  if (plan.device.is_cuda()) {
    return "libtorch on " + plan.device.str() + " (cuBLAS), " + precision_name(plan.precision);
  }
  if (!dnnl_available())
    return "ATen (this build has no oneDNN), " + precision_name(plan.precision);
  if (plan.precision == Precision::kInt8) {
    const std::string product = plan.int8_product == Int8Product::kWide16
                                    ? std::string("mtst ") +
                                          cpu::int8_row_kernels(plan.vector_isa).name +
                                          " u8*s8->s32 kernel (16-bit vpmaddwd products, exact)"
                                    : "oneDNN u8*s8->s32 matmul (" + int8_support().matmul + ")";
    const std::string weights =
        plan.int8_weight_max == 127 ? "8-bit" : "7-bit (keeps oneDNN's u8*s8 pair sums exact)";
    const std::string ffn_output = plan.int8_ffn_output ? ""
                                                        : "; FFN output projection in fp32 (" +
                                                              dnnl_linear_impl(at::kFloat) + ")";
    return product + ", " + weights +
           " per-channel weights, 8-bit per-token activations, calibrated smoothing, mtst " +
           cpu::int8_row_kernels(plan.vector_isa).name + " row kernels" + ffn_output;
  }
  return "oneDNN " + precision_name(plan.precision) + " matmul (" +
         dnnl_linear_impl(precision_dtype(plan.precision)) + ")";
}

KernelPlan make_plan(Precision precision, const c10::Device& device) {
  KernelPlan plan;
  plan.precision = precision;
  plan.device = device;
#ifdef MTST_HAVE_DNNL
  const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  plan.cpu_isa = dnnl_isa_name(isa);
  plan.vector_isa = vector_isa_of(isa);
#endif
  if (precision == Precision::kInt8) {
    const auto& s = int8_support();
    if (!s.available) throw Error(s.why_not);
    plan.int8_activation_max = s.activation_max;
    plan.int8_weight_max = s.weight_max;
    if (s.weight_max != 127 && cpu::int8_gemm_supported(plan.vector_isa)) {
      plan.int8_product = Int8Product::kWide16;
      plan.int8_weight_max = 127;
    }
    plan.int8_ffn_output = plan.int8_weight_max == 127;
  }
  plan.attention_precision = attention_precision_of(plan);
  plan.linear = linear_words(plan);
  return plan;
}

}  // namespace

Precision KernelPlan::linear_precision(LinearRole role) const {
  if (precision == Precision::kInt8 && role == LinearRole::kFfnOutput && !int8_ffn_output) {
    return Precision::kFp32;
  }
  return precision;
}

std::string KernelPlan::describe() const {
  std::string cpu = cpu_isa.empty() ? "" : ", CPU ISA " + cpu_isa;
  std::string attention;
  if (attention_precision != precision) {
    attention = "; attention products in " + precision_name(attention_precision);
  }
  return precision_name(precision) + " on " + device.str() + cpu + ": " + linear + attention;
}

const KernelPlan& kernel_plan(Precision precision, const c10::Device& device) {
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, KernelPlan> plans;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(static_cast<int>(precision), device.str());
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(precision, device)).first;
  return it->second;
}

}  // namespace mtst
