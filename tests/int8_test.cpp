// int8 precision: the row kernels of every vector ISA this CPU runs against the plain variant,
// the int8 linear backend against its exact ATen reference (same quantisation, integers
// multiplied in double) on random batches and on extreme codes at the model's real shapes
// (where a saturating u8*s8 instruction would show), int8 against fp32 on the tiny fixture
// model, and the plan the machine (or ONEDNN_MAX_CPU_ISA) gives. ctest also runs these tests
// with the ISA capped at AVX2 (int8.forced_avx2), so that path is checked on AVX-512 machines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iomanip>
#include <string>
#include <vector>

#include "mtst/model/sentence_encoder.h"
#include "ops/cpu/int8_gemm.h"
#include "ops/cpu/int8_rows.h"
#include "ops/int8_calibration.h"
#include "ops/kernel_plan.h"
#include "ops/linear.h"
#include "test_util.h"

namespace mtst {
namespace {

constexpr const char* kNoInt8 = "this CPU has no exact int8 matmul (see int8_support())";

// Relative max difference, printed.
double rel_diff(const at::Tensor& a, const at::Tensor& b, const std::string& label) {
  const double scale = b.abs().max().item<double>() + 1e-12;
  return test::max_abs_diff(a, b, label) / scale;
}

TEST(Int8RowKernels, EveryVariantQuantisesLikeThePlainOne) {
  at::manual_seed(1);
  const int64_t rows = 37, cols = 389;  // odd sizes: vector tails
  auto x = at::randn({rows, cols}) * 3;
  x[5].zero_();             // an all-zero row
  x[6].abs_();              // no negative values
  x.select(1, 7).mul_(40);  // an outlier column
  const auto smooth = at::rand({cols}) + 0.5;
  const auto& plain = cpu::int8_row_kernels(cpu::VectorIsa::kDefault);
  const float* smooth_data = smooth.data_ptr<float>();
  for (const float* s : {static_cast<const float*>(nullptr), smooth_data}) {
    auto q0 = at::empty({rows, cols}, at::kByte), z0 = at::empty({rows}, at::kInt);
    auto s0 = at::empty({rows});
    plain.quantize(x.data_ptr<float>(), rows, cols, cols, s, 255, q0.data_ptr<uint8_t>(),
                   s0.data_ptr<float>(), z0.data_ptr<int32_t>());
    // Codes reconstruct the (smoothed) input to half a step.
    const auto xs = s == nullptr ? x : x * smooth;
    const auto back = (q0.to(at::kFloat) - z0.unsqueeze(1)) * s0.unsqueeze(1);
    EXPECT_TRUE(((back - xs).abs() <= s0.unsqueeze(1) * 0.5001).all().item<bool>());
    for (auto isa : test::runnable_vector_isas()) {
      const auto& k = cpu::int8_row_kernels(isa);
      auto q = at::empty_like(q0), z = at::empty_like(z0);
      auto sc = at::empty_like(s0);
      k.quantize(x.data_ptr<float>(), rows, cols, cols, s, 255, q.data_ptr<uint8_t>(),
                 sc.data_ptr<float>(), z.data_ptr<int32_t>());
      EXPECT_TRUE(q.equal(q0)) << k.name;
      EXPECT_TRUE(z.equal(z0)) << k.name;
      EXPECT_TRUE(sc.equal(s0)) << k.name;
    }
  }
}

TEST(Int8RowKernels, EveryVariantsEpilogueMatchesThePlainFormula) {
  at::manual_seed(2);
  const int64_t rows = 19, cols = 77;
  const auto acc = at::randint(-200000, 200000, {rows, cols}, at::kInt);
  const auto row_scale = at::rand({rows}) * 1e-3, col_scale = at::rand({cols}) * 1e-2;
  const auto row_zero = at::randint(0, 256, {rows}, at::kInt);
  const auto col_sum = at::randint(-5000, 5000, {cols}, at::kInt);
  const auto bias = at::randn({cols}), residual = at::randn({rows, cols});
  const auto v = (acc - row_zero.unsqueeze(1) * col_sum).to(at::kDouble) *
                     row_scale.unsqueeze(1).to(at::kDouble) * col_scale.to(at::kDouble) +
                 bias.to(at::kDouble);
  for (int activation : {0, 1, 2, 3}) {
    at::Tensor expect = v;
    if (activation == 1) expect = at::gelu(v);
    if (activation == 2) expect = at::gelu(v, "tanh");
    if (activation == 3) expect = at::relu(v);
    expect = (expect + residual.to(at::kDouble)).to(at::kFloat);
    for (auto isa : test::runnable_vector_isas()) {
      const auto& k = cpu::int8_row_kernels(isa);
      auto out = at::empty({rows, cols});
      cpu::Int8Epilogue e{acc.data_ptr<int32_t>(),
                          row_scale.data_ptr<float>(),
                          row_zero.data_ptr<int32_t>(),
                          col_scale.data_ptr<float>(),
                          col_sum.data_ptr<int32_t>(),
                          bias.data_ptr<float>(),
                          activation,
                          residual.data_ptr<float>(),
                          out.data_ptr<float>()};
      k.epilogue(e, rows, cols);
      EXPECT_LT(rel_diff(out, expect, std::string("epilogue ") + k.name), 1e-5)
          << "activation " << activation;
    }
  }
}

// The epilogue of random products followed by a layer norm, and re-quantised for a next
// product (the fused tail's two row kernels), against the plain formula and the separate
// kernels of the same variant.
TEST(Int8RowKernels, EveryVariantsNormAndRequantiseMatchTheSeparateSteps) {
  at::manual_seed(4);
  const int64_t rows = 21, cols = 389;
  const auto acc = at::randint(-200000, 200000, {rows, cols}, at::kInt);
  const auto row_scale = at::rand({rows}) * 1e-3, col_scale = at::rand({cols}) * 1e-2;
  const auto row_zero = at::randint(0, 256, {rows}, at::kInt);
  const auto col_sum = at::randint(-5000, 5000, {cols}, at::kInt);
  const auto bias = at::randn({cols}), residual = at::randn({rows, cols});
  const auto gamma = at::rand({cols}) + 0.5, beta = at::randn({cols});
  const auto inv_smooth = at::rand({cols}) + 0.5;
  const auto v = (acc - row_zero.unsqueeze(1) * col_sum).to(at::kDouble) *
                     row_scale.unsqueeze(1).to(at::kDouble) * col_scale.to(at::kDouble) +
                 bias.to(at::kDouble);
  const auto normed = at::layer_norm(v + residual.to(at::kDouble), {cols}, gamma.to(at::kDouble),
                                     beta.to(at::kDouble), 1e-12)
                          .to(at::kFloat);
  for (auto isa : test::runnable_vector_isas()) {
    const auto& k = cpu::int8_row_kernels(isa);
    cpu::Int8Epilogue e{acc.data_ptr<int32_t>(),
                        row_scale.data_ptr<float>(),
                        row_zero.data_ptr<int32_t>(),
                        col_scale.data_ptr<float>(),
                        col_sum.data_ptr<int32_t>(),
                        bias.data_ptr<float>(),
                        0,
                        residual.data_ptr<float>(),
                        nullptr};
    const cpu::RowNorm norm{gamma.data_ptr<float>(), beta.data_ptr<float>(), 1e-12f};
    auto out = at::empty({rows, cols});
    e.out = out.data_ptr<float>();
    k.epilogue_norm(e, rows, cols, norm);
    EXPECT_LT(rel_diff(out, normed, std::string("epilogue + norm ") + k.name), 1e-5);
    auto plain_norm = at::empty({rows, cols});
    const auto summed = (v + residual.to(at::kDouble)).to(at::kFloat).contiguous();
    k.norm(summed.data_ptr<float>(), rows, cols, norm, plain_norm.data_ptr<float>());
    EXPECT_LT(rel_diff(plain_norm, normed, std::string("norm ") + k.name), 1e-5);
    // GELU rows quantised for the next product: the same codes as the epilogue written out
    // as floats and quantised by the same variant.
    e.activation = 1;
    auto hidden = at::empty({rows, cols});
    cpu::Int8Epilogue separate = e;
    separate.residual = nullptr;
    separate.out = hidden.data_ptr<float>();
    k.epilogue(separate, rows, cols);
    auto q0 = at::empty({rows, cols}, at::kByte), z0 = at::empty({rows}, at::kInt);
    auto s0 = at::empty({rows});
    k.quantize(hidden.data_ptr<float>(), rows, cols, cols, inv_smooth.data_ptr<float>(), 255,
               q0.data_ptr<uint8_t>(), s0.data_ptr<float>(), z0.data_ptr<int32_t>());
    auto q = at::empty_like(q0), z = at::empty_like(z0);
    auto sc = at::empty_like(s0), scratch = at::empty({cols});
    e.out = scratch.data_ptr<float>();
    k.epilogue_quantize(e, rows, cols, inv_smooth.data_ptr<float>(), 255, q.data_ptr<uint8_t>(),
                        sc.data_ptr<float>(), z.data_ptr<int32_t>());
    EXPECT_TRUE(q.equal(q0)) << k.name;
    EXPECT_TRUE(z.equal(z0)) << k.name;
    EXPECT_TRUE(sc.equal(s0)) << k.name;
  }
}

struct Case {
  int64_t m, k, n;
  bool smooth, gelu, residual;
};

TEST(Int8Linear, MatchesItsExactReferenceOnRandomBatches) {
  if (!int8_support().available) GTEST_SKIP() << kNoInt8;
  const KernelPlan& plan = kernel_plan(Precision::kInt8);
  at::manual_seed(3);
  for (const Case& c :
       {Case{1, 64, 48, false, false, false}, Case{37, 384, 1152, true, false, false},
        Case{256, 384, 1536, true, true, false}, Case{300, 1536, 384, true, false, true},
        Case{64, 40, 24, false, true, true}}) {
    const auto w = at::randn({c.n, c.k}) * 0.05, b = at::randn({c.n}) * 0.1;
    auto x = at::randn({c.m, c.k});
    x.select(1, c.k / 2).mul_(30);  // an outlier channel, as BERT's LayerNorm outputs have
    const at::Tensor absmax = c.smooth ? x.abs().amax(0) : at::Tensor();
    const auto residual = at::randn({c.m, c.n});
    MatmulEpilogue e;
    e.has_activation = c.gelu;
    if (c.residual) e.addend = &residual;
    const auto fast = make_int8_linear(w, b, plan, absmax)->forward(x, e);
    const auto exact =
        make_reference_int8_linear(w, b, absmax, plan.int8_activation_max, plan.int8_weight_max)
            ->forward(x, e);
    const std::string label = "int8 vs reference m" + std::to_string(c.m) + " k" +
                              std::to_string(c.k) + " n" + std::to_string(c.n);
    EXPECT_LT(rel_diff(fast, exact, label), 1e-5);
    // And close to the float layer it replaces.
    const auto fp32 = make_reference_linear(w, b)->forward(x, e);
    const double worst = at::cosine_similarity(fast, fp32, 1).min().item<double>();
    EXPECT_GT(worst, 0.995) << label;
  }
}

TEST(Int8Linear, ExtremeCodesAtTheModelsShapesAreExact) {
  // Every activation code 255 and every weight code at the plan's maximum, of both signs:
  // a u8*s8 instruction that saturated its pair sums would be off by far more than rounding.
  if (!int8_support().available) GTEST_SKIP() << kNoInt8;
  const KernelPlan& plan = kernel_plan(Precision::kInt8);
  for (auto [k, n] : {std::pair<int64_t, int64_t>{384, 1536}, {1536, 384}, {384, 1152}}) {
    const int64_t m = 256;
    auto w = at::ones({n, k});
    w.narrow(0, 0, n / 2).fill_(-1);
    const auto x = at::ones({m, k}), b = at::zeros({n});
    const auto out = make_int8_linear(w, b, plan)->forward(x, {});
    auto expect = at::full({m, n}, static_cast<float>(k));
    expect.narrow(1, 0, n / 2).fill_(-static_cast<float>(k));
    EXPECT_LT(rel_diff(out, expect, "extreme codes k" + std::to_string(k)), 1e-6);
  }
}

TEST(Int8Plan, FollowsTheCpuOrTheForcedIsa) {
  if (!int8_support().available) GTEST_SKIP() << kNoInt8;
  const KernelPlan& plan = kernel_plan(Precision::kInt8);
  std::cout << "[int8] " << plan.describe() << std::endl;
  const char* forced = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string cap = forced != nullptr ? forced : "";
  // A cap above the CPU's own ISA leaves the CPU's path: AVX512_CORE on an AVX2-only CPU.
  const bool capped_avx2 = cap == "AVX2" && cpu::int8_gemm_supported(cpu::VectorIsa::kAvx2);
  const bool capped_avx512 =
      cap == "AVX512_CORE" && cpu::int8_gemm_supported(cpu::VectorIsa::kAvx512);
  if (capped_avx2 || capped_avx512) {
    const bool avx2 = capped_avx2;
    EXPECT_EQ(plan.cpu_isa, avx2 ? "avx2" : "avx512_core");
    EXPECT_EQ(plan.vector_isa, avx2 ? cpu::VectorIsa::kAvx2 : cpu::VectorIsa::kAvx512);
    // oneDNN's products there (vpmaddubsw) would saturate 8-bit weights: mtst's own 16-bit
    // kernel multiplies instead, in the same ISA, with 8-bit weights.
    EXPECT_EQ(plan.int8_product, Int8Product::kWide16);
    EXPECT_EQ(plan.int8_weight_max, 127);
    const std::string kernel = avx2 ? "mtst avx2 u8*s8->s32 kernel" : "mtst avx512 u8*s8->s32";
    EXPECT_NE(plan.describe().find(kernel), std::string::npos) << plan.describe();
  }
  // oneDNN's product with 8-bit weights only where its probe found them exact (VNNI, AMX);
  // mtst's own kernel where it did not and mtst has tiles for the ISA (AVX2, AVX-512).
  const bool exact_dnnl = int8_support().matmul.find("vnni") != std::string::npos ||
                          int8_support().matmul.find("amx") != std::string::npos;
  EXPECT_EQ(exact_dnnl, int8_support().weight_max == 127) << int8_support().matmul;
  EXPECT_EQ(plan.int8_product == Int8Product::kWide16,
            !exact_dnnl && plan.vector_isa != cpu::VectorIsa::kDefault);
  const bool eight_bit = plan.int8_weight_max == 127;
  EXPECT_EQ(eight_bit, exact_dnnl || plan.int8_product == Int8Product::kWide16);
  // With 7-bit weights the FFN output projection runs in fp32; every other role in int8.
  EXPECT_EQ(plan.linear_precision(LinearRole::kFfnOutput),
            eight_bit ? Precision::kInt8 : Precision::kFp32);
  for (auto role : {LinearRole::kQkv, LinearRole::kAttentionOutput, LinearRole::kFfnInput}) {
    EXPECT_EQ(plan.linear_precision(role), Precision::kInt8);
  }
  EXPECT_EQ(plan.describe().find("FFN output projection in fp32") != std::string::npos, !eight_bit);
  EXPECT_EQ(kernel_plan(Precision::kFp32).linear_precision(LinearRole::kFfnOutput),
            Precision::kFp32);
  // Attention products in bf16 exactly where oneDNN's effective ISA has native bf16 (the CPU's
  // avx512_bf16 or AMX, not capped below it); fp32 and bf16 runs keep their own precision.
  const bool bf16_isa =
      plan.cpu_isa == "avx512_core_bf16" || plan.cpu_isa.find("amx") != std::string::npos;
  EXPECT_EQ(plan.attention_precision, bf16_isa ? Precision::kBf16 : Precision::kFp32)
      << plan.cpu_isa;
  EXPECT_EQ(plan.describe().find("attention products in bf16") != std::string::npos, bf16_isa);
  EXPECT_EQ(kernel_plan(Precision::kFp32).attention_precision, Precision::kFp32);
}

TEST(Int8Encoder, TinyModelStaysCloseToFp32) {
  if (!int8_support().available) GTEST_SKIP() << kNoInt8;
  ExecOptions int8;
  int8.precision = Precision::kInt8;
  const auto dir = test::fixtures() / "tiny-bert-st";
  const auto texts = int8_calibration_sentences();  // any text: the model is random
  const auto fp32 = SentenceEncoder::load(dir, {}).encode(texts, {}).embeddings;
  const auto q = SentenceEncoder::load(dir, int8).encode(texts, {}).embeddings;
  const double worst = at::cosine_similarity(fp32, q, 1).min().item<double>();
  std::cout << "[int8] tiny model, min cosine to fp32: " << std::setprecision(9) << worst
            << ", max abs diff " << (fp32 - q).abs().max().item<double>() << std::endl;
  EXPECT_GE(worst, 0.99);
}

TEST(Int8Calibration, TextIsTheBundledFile) {
  const auto sentences = int8_calibration_sentences();
  EXPECT_EQ(sentences.size(), 256u);
  const auto file = test::read_file(std::filesystem::path(MTST_FIXTURES_DIR) / ".." / ".." /
                                    "data" / "int8-calibration.txt");
  EXPECT_EQ(file, std::string(int8_calibration_text()));
}

}  // namespace
}  // namespace mtst

namespace mtst {
namespace {

TEST(Int8Cli, RefusedOnCudaAndInTrainingWithOneMessage) {
  const auto model = test::quoted(test::fixtures() / "tiny-bert-st");
  auto r = test::run_mtst("encode --model " + model + " --precision int8 --device cuda", "hi\n");
  EXPECT_NE(r.exit_code, 0);
  // Without CUDA the device is refused first; with it, the precision.
  EXPECT_TRUE(r.err.find("CUDA is not available") != std::string::npos ||
              r.err.find("precision int8 runs on the CPU only") != std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  test::TempDir dir;
  auto config = test::tiny_train_config();
  config["training"]["precision"] = "int8";
  test::write_file(dir / "c.json", config.dump());
  r = test::run_mtst("train --config " + test::quoted(dir / "c.json") + " --output " +
                     test::quoted(dir / "run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is int8, which is for inference"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
}

}  // namespace
}  // namespace mtst
