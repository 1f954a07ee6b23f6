// mtst's exact 16-bit int8 product (ops/cpu/int8_gemm.h) against ATen's product of the same
// integers in double: random u8 activations and s8 weights over their full ranges (where
// vpmaddubsw would saturate), the extreme codes at the model's widest inner dimension, and
// sizes that leave partial row tiles, partial panels and an odd inner dimension. Once per
// ISA variant (AVX2, AVX-512), each skipped on CPUs without its ISA, and once through the
// plain loops that int8_gemm runs for an ISA without tiles.
#include "ops/cpu/int8_gemm.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "test_util.h"

namespace mtst {
namespace cpu {
// How GoogleTest (and so ctest's test names) shows a parameter.
void PrintTo(VectorIsa isa, std::ostream* os) {
  *os << (isa == VectorIsa::kAvx2 ? "avx2" : isa == VectorIsa::kAvx512 ? "avx512" : "plain");
}
}  // namespace cpu

namespace {

// A [rows, k] u8 times W [n, k] s8 through ISA's variant of the kernel, as s32.
at::Tensor kernel_product(cpu::VectorIsa isa, const at::Tensor& a, const at::Tensor& w) {
  const int64_t rows = a.size(0), k = a.size(1), n = w.size(0);
  auto packed = at::empty({cpu::int8_gemm_packed_size(n, k)}, at::kShort);
  cpu::int8_gemm_pack(w.data_ptr<int8_t>(), n, k, packed.data_ptr<int16_t>());
  // Not zero: every element must be written; a tail of 64 more must not be.
  auto c = at::full({rows * n + 64}, -7, at::kInt);
  cpu::int8_gemm(isa, a.data_ptr<uint8_t>(), rows, k, packed.data_ptr<int16_t>(), n,
                 c.data_ptr<int32_t>());
  EXPECT_TRUE(c.narrow(0, rows * n, 64).eq(-7).all().item<bool>()) << "written past C";
  return c.narrow(0, 0, rows * n).view({rows, n});
}

void expect_exact(cpu::VectorIsa isa, const at::Tensor& a, const at::Tensor& w,
                  const std::string& label) {
  const auto expect = at::mm(a.to(at::kDouble), w.to(at::kDouble).t());
  const auto got = kernel_product(isa, a, w).to(at::kDouble);
  EXPECT_TRUE(got.equal(expect)) << label << ": max |diff| "
                                 << (got - expect).abs().max().item<double>();
}

class Int8Gemm : public ::testing::TestWithParam<cpu::VectorIsa> {
 protected:
  void SetUp() override {
    // kDefault has no tiles: int8_gemm runs its plain loops, which must be exact too.
    if (GetParam() != cpu::VectorIsa::kDefault && !cpu::int8_gemm_supported(GetParam())) {
      GTEST_SKIP() << "this CPU lacks the ISA";
    }
  }
};

TEST_P(Int8Gemm, RandomCodesAreExactAtEveryTileEdge) {
  at::manual_seed(3);
  for (int64_t rows : {1, 5, 6, 7, 8, 9, 13, 64, 131}) {
    for (int64_t k : {1, 2, 3, 383, 384}) {
      for (int64_t n : {1, 8, 15, 16, 17, 32, 40, 48, 384}) {
        const auto a = at::randint(0, 256, {rows, k}, at::kByte);
        const auto w = at::randint(-128, 128, {n, k}, at::kChar);
        expect_exact(GetParam(), a, w,
                     std::to_string(rows) + "x" + std::to_string(k) + "x" + std::to_string(n));
      }
    }
  }
}

TEST_P(Int8Gemm, ExtremeCodesDoNotSaturate) {
  const int64_t rows = 9, k = 1536, n = 48;
  const auto a = at::full({rows, k}, 255, at::kByte);
  auto w = at::full({n, k}, 127, at::kChar);
  w.narrow(0, 0, n / 2).fill_(-128);
  expect_exact(GetParam(), a, w, "255 x (-128 | 127), k 1536");
  const auto c = kernel_product(GetParam(), a, w);
  EXPECT_EQ(c[0][0].item<int32_t>(), -255 * 128 * 1536);
  EXPECT_EQ(c[8][47].item<int32_t>(), 255 * 127 * 1536);
}

INSTANTIATE_TEST_SUITE_P(Isa, Int8Gemm,
                         ::testing::Values(cpu::VectorIsa::kDefault, cpu::VectorIsa::kAvx2,
                                           cpu::VectorIsa::kAvx512),
                         [](const ::testing::TestParamInfo<cpu::VectorIsa>& info) {
                           return ::testing::PrintToString(info.param);
                         });

}  // namespace
}  // namespace mtst
