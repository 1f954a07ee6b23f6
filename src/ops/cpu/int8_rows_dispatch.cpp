// Picks the compiled variant of the int8 row kernels for a vector ISA.
#include "ops/cpu/int8_rows.h"

namespace mtst::cpu {

#define MTST_INT8_ROWS(ns, label)                                                          \
  Int8RowKernels {                                                                         \
    ns::quantize_rows, ns::dequantize_rows, ns::dequantize_norm_rows, ns::requantize_rows, \
        ns::norm_rows, label                                                               \
  }

const Int8RowKernels& int8_row_kernels(VectorIsa isa) {
  static const Int8RowKernels avx512 = MTST_INT8_ROWS(isa_avx512, "avx512");
  static const Int8RowKernels avx2 = MTST_INT8_ROWS(isa_avx2, "avx2");
  static const Int8RowKernels plain = MTST_INT8_ROWS(isa_default, "default");
  return variant_for(isa, avx512, avx2, plain);
}

#undef MTST_INT8_ROWS

}  // namespace mtst::cpu
