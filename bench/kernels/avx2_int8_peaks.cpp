// What one core can multiply per second with the AVX2 instructions an int8 product may use,
// against mtst's 16-bit int8 kernel at the model's four shapes (64 rows, one thread; its
// AVX-512 tiles too where the CPU has AVX-512):
//   vpmaddwd + vpaddd            16-bit pairs, exact for u8*s8 (mtst's AVX2 kernel)
//   vpmaddubsw + vpmaddwd + add  u8*s8 pairs summed in 16 bits (saturates with 8-bit weights:
//                                oneDNN's and ONNX Runtime's AVX2 int8)
//   vfmadd231ps                  fp32
// Each peak is a loop of independent instructions on registers (inline assembly, no memory).
//   c++ -O3 -mavx512f -mavx512bw -Isrc -c -o /tmp/gemm512.o src/ops/cpu/int8_gemm_avx512.cpp
//   c++ -O3 -mavx2 -mfma -Isrc -o /tmp/avx2_int8_peaks bench/kernels/avx2_int8_peaks.cpp \
//       src/ops/cpu/int8_gemm.cpp src/ops/cpu/int8_gemm_avx2.cpp /tmp/gemm512.o
//   /tmp/avx2_int8_peaks
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ops/cpu/int8_gemm.h"

namespace {

constexpr long kIterations = 200000000;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double madd16_peak() {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < kIterations; ++i) {
    __asm__ volatile(
        "vpmaddwd %%ymm14, %%ymm15, %%ymm0\n vpaddd %%ymm0, %%ymm1, %%ymm1\n"
        "vpmaddwd %%ymm14, %%ymm15, %%ymm2\n vpaddd %%ymm2, %%ymm3, %%ymm3\n"
        "vpmaddwd %%ymm14, %%ymm15, %%ymm4\n vpaddd %%ymm4, %%ymm5, %%ymm5\n"
        "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n vpaddd %%ymm6, %%ymm7, %%ymm7\n" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
  }
  return kIterations * 4.0 * 16 / seconds_since(start) / 1e9;
}

double maddubs_peak() {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < kIterations; ++i) {
    __asm__ volatile(
        "vpmaddubsw %%ymm14, %%ymm15, %%ymm0\n vpmaddwd %%ymm13, %%ymm0, %%ymm0\n"
        "vpaddd %%ymm0, %%ymm1, %%ymm1\n"
        "vpmaddubsw %%ymm14, %%ymm15, %%ymm2\n vpmaddwd %%ymm13, %%ymm2, %%ymm2\n"
        "vpaddd %%ymm2, %%ymm3, %%ymm3\n"
        "vpmaddubsw %%ymm14, %%ymm15, %%ymm4\n vpmaddwd %%ymm13, %%ymm4, %%ymm4\n"
        "vpaddd %%ymm4, %%ymm5, %%ymm5\n"
        "vpmaddubsw %%ymm14, %%ymm15, %%ymm6\n vpmaddwd %%ymm13, %%ymm6, %%ymm6\n"
        "vpaddd %%ymm6, %%ymm7, %%ymm7\n" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
  }
  return kIterations * 4.0 * 32 / seconds_since(start) / 1e9;
}

double fma_peak() {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < kIterations; ++i) {
    __asm__ volatile(
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n" ::
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
  }
  return kIterations * 8.0 * 8 / seconds_since(start) / 1e9;
}

// mtst's kernel (ISA's tiles) on ROWS random rows for about a second, in G MAC/s.
double kernel_rate(mtst::cpu::VectorIsa isa, int64_t rows, int64_t k, int64_t n) {
  std::vector<uint8_t> a(rows * k);
  std::vector<int8_t> w(n * k);
  std::vector<int32_t> c(rows * n);
  for (auto& x : a) x = static_cast<uint8_t>(std::rand());
  for (auto& x : w) x = static_cast<int8_t>(std::rand() % 255 - 127);
  std::vector<int16_t> packed(mtst::cpu::int8_gemm_packed_size(n, k));
  mtst::cpu::int8_gemm_pack(w.data(), n, k, packed.data());
  long calls = 0;
  const auto start = std::chrono::steady_clock::now();
  do {
    mtst::cpu::int8_gemm(isa, a.data(), rows, k, packed.data(), n, c.data());
    ++calls;
  } while (seconds_since(start) < 1.0);
  return static_cast<double>(rows) * k * n * calls / seconds_since(start) / 1e9;
}

}  // namespace

int main() {
  std::printf("G MAC/s on one core\n");
  std::printf("vpmaddwd (16-bit, exact)            %6.1f\n", madd16_peak());
  std::printf("vpmaddubsw+vpmaddwd (u8*s8, 16-bit) %6.1f\n", maddubs_peak());
  std::printf("vfmadd231ps (fp32)                  %6.1f\n", fma_peak());
  const int64_t shapes[4][2] = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}};
  for (auto isa : {mtst::cpu::VectorIsa::kAvx2, mtst::cpu::VectorIsa::kAvx512}) {
    if (!mtst::cpu::int8_gemm_supported(isa)) continue;
    const char* name = isa == mtst::cpu::VectorIsa::kAvx2 ? "avx2  " : "avx512";
    for (const auto& s : shapes) {
      std::printf("mtst int8_gemm %s 64 x %4ld x %4ld %6.1f\n", name, static_cast<long>(s[0]),
                  static_cast<long>(s[1]), kernel_rate(isa, 64, s[0], s[1]));
    }
  }
  return 0;
}
