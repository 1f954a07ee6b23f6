// The vector instruction sets mtst compiles its own CPU kernels for, and the choice of a kernel
// set's compiled variant. Which one a run uses is decided once, in KernelPlan (kernel_plan.h),
// from oneDNN's effective ISA.
#pragma once

namespace mtst::cpu {

enum class VectorIsa { kDefault, kAvx2, kAvx512 };

// The one of a kernel set's compiled variants that ISA runs.
template <typename Kernels>
const Kernels& variant_for(VectorIsa isa, const Kernels& avx512, const Kernels& avx2,
                           const Kernels& plain) {
  switch (isa) {
    case VectorIsa::kAvx512:
      return avx512;
    case VectorIsa::kAvx2:
      return avx2;
    default:
      return plain;
  }
}

}  // namespace mtst::cpu
