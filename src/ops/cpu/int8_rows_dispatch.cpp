// Picks the compiled variant of the int8 row kernels for a vector ISA.
#include "ops/cpu/int8_rows.h"

namespace mtst::cpu {

const Int8RowKernels& int8_row_kernels(VectorIsa isa) {
  static const Int8RowKernels avx512{isa_avx512::quantize_rows, isa_avx512::dequantize_rows,
                                     "avx512"};
  static const Int8RowKernels avx2{isa_avx2::quantize_rows, isa_avx2::dequantize_rows, "avx2"};
  static const Int8RowKernels plain{isa_default::quantize_rows, isa_default::dequantize_rows,
                                    "default"};
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
