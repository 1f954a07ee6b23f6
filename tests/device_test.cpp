// --device: the names, the one-line error when CUDA is asked for and absent (every command
// that runs a model), fp16 refused off CUDA and in training, and, where a GPU is present, GPU
// embeddings against the CPU's (fp32 within 1e-4, bf16 and fp16 cosine >= 0.999, pipelined
// chunks against one pass) and training steps against the CPU's. The GPU tests
// report themselves skipped without one.
#include <gtest/gtest.h>

#include "mtst/error.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/ops/exec_plan.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/train/trainer.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;

constexpr const char* kNoGpu = "no CUDA device here (CPU-only libtorch, or no GPU or driver)";

std::string error_of(const std::string& name) {
  try {
    parse_device(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Device, NamesAndUnknownNames) {
  EXPECT_EQ(parse_device("cpu"), c10::Device(c10::kCPU));
  EXPECT_EQ(device_name(c10::Device(c10::kCPU)), "cpu");
  EXPECT_EQ(device_name(c10::Device(c10::kCUDA, 1)), "cuda:1");
  for (const char* bad : {"gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda:0:1", ""}) {
    EXPECT_EQ(error_of(bad),
              std::string("unknown device '") + bad + "' (expected cpu, cuda, cuda:N or auto)");
  }
}

TEST(Device, CudaAbsentIsOneClearErrorAndAutoPicksTheCpu) {
  if (cuda_device_count() > 0) {
    EXPECT_EQ(parse_device("auto"), c10::Device(c10::kCUDA, 0));
    EXPECT_EQ(parse_device("cuda"), c10::Device(c10::kCUDA, 0));
    EXPECT_EQ(error_of("cuda:99"), "device cuda:99: this machine has " +
                                       std::to_string(cuda_device_count()) +
                                       " CUDA device(s), numbered from 0");
    return;
  }
  EXPECT_EQ(parse_device("auto"), c10::Device(c10::kCPU));
  for (const char* name : {"cuda", "cuda:0", "cuda:3"}) {
    EXPECT_EQ(error_of(name), std::string("device ") + name +
                                  ": CUDA is not available here (this libtorch was built "
                                  "without CUDA, or there is no GPU or driver); use --device cpu");
  }
}

TEST(Device, EveryModelCommandRefusesAnAbsentGpuInOneLine) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const auto model = test::quoted(fixtures() / "tiny-bert-st");
  const std::string error =
      "mtst: error: device cuda: CUDA is not available here (this libtorch was built without "
      "CUDA, or there is no GPU or driver); use --device cpu\n";
  for (const std::string command : {"encode", "predict", "evaluate --task category --data x.csv",
                                    "serve --port 0", "bench encode --seconds 0 --input -"}) {
    const auto r = test::run_mtst(command + " --device cuda --model " + model, "Hello\n");
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.err, error) << command;
    EXPECT_EQ(r.out, "") << command;
  }
}

TEST(Device, TrainingRefusesAnAbsentGpuInOneLine) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  test::TempDir tmp;
  test::write_file(tmp / "config.json", test::tiny_train_config().dump());
  const std::string config = test::quoted(tmp / "config.json");
  for (const std::string command : {"train --quiet --output " + test::quoted(tmp / "run"),
                                    std::string("bench train --steps 1 --warmup 0")}) {
    const auto r = test::run_mtst(command + " --device cuda --config " + config);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.err,
              "mtst: error: device cuda: CUDA is not available here (this libtorch was built "
              "without CUDA, or there is no GPU or driver); use --device cpu\n")
        << command;
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "run"));  // refused before anything was written
}

TEST(Device, Fp16IsForCudaOnly) {
  EXPECT_EQ(parse_precision("fp16"), Precision::kFp16);
  EXPECT_EQ(precision_name(Precision::kFp16), "fp16");
  EXPECT_EQ(precision_dtype(Precision::kFp16), at::kHalf);
  EXPECT_EQ(precision_dtype(Precision::kBf16), at::kBFloat16);
  EXPECT_FALSE(precision_supported(Precision::kFp16, c10::kCPU));
  EXPECT_TRUE(precision_supported(Precision::kFp16, c10::Device(c10::kCUDA, 0)));
  ExecOptions exec;
  exec.precision = Precision::kFp16;
  EXPECT_THROW(SentenceEncoder::load(fixtures() / "tiny-bert-st", exec), Error);
}

TEST(Device, TrainingRefusesFp16InOneLine) {
  test::TempDir tmp;
  auto j = test::tiny_train_config();
  j["training"]["precision"] = "fp16";
  test::write_file(tmp / "config.json", j.dump());
  const auto r = test::run_mtst("train --quiet --output " + test::quoted(tmp / "run") +
                                " --config " + test::quoted(tmp / "config.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mtst: error: " + (tmp / "config.json").string() +
                       ": training: key 'precision' is fp16, which mtst does not train in (fp16 "
                       "gradients need loss scaling, which the trainer does not do); use bf16 "
                       "on a GPU, or fp32\n");
  EXPECT_FALSE(std::filesystem::exists(tmp / "run"));
}

at::Tensor encode_on(const c10::Device& device, Precision precision) {
  ExecOptions exec;
  exec.device = device;
  exec.precision = precision;
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-st", exec);
  return encoder
      .encode({"A short one.", "Hello world!", "A somewhat longer sentence, with padding."}, {})
      .embeddings;
}

TEST(Device, GpuEmbeddingsMatchTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << kNoGpu;
  const auto cpu = encode_on(c10::kCPU, Precision::kFp32);
  const auto gpu = encode_on(c10::Device(c10::kCUDA, 0), Precision::kFp32);
  ASSERT_TRUE(gpu.device().is_cpu());  // results always come back to the host
  EXPECT_LT(test::max_abs_diff(gpu, cpu, "gpu vs cpu fp32"), 1e-4);
}

TEST(Device, GpuBf16StaysCloseToTheCpuFp32) {
  if (cuda_device_count() == 0) GTEST_SKIP() << kNoGpu;
  const auto cpu = encode_on(c10::kCPU, Precision::kFp32);
  const auto gpu = encode_on(c10::Device(c10::kCUDA, 0), Precision::kBf16);
  EXPECT_GE(at::cosine_similarity(gpu, cpu, 1).min().item<double>(), 0.999);
}

TEST(Device, GpuFp16StaysCloseToTheCpuFp32) {
  if (cuda_device_count() == 0) GTEST_SKIP() << kNoGpu;
  const auto cpu = encode_on(c10::kCPU, Precision::kFp32);
  const auto gpu = encode_on(c10::Device(c10::kCUDA, 0), Precision::kFp16);
  EXPECT_GE(at::cosine_similarity(gpu, cpu, 1).min().item<double>(), 0.999);
}

TEST(Device, GpuPipelinedChunksMatchOnePass) {
  if (cuda_device_count() == 0) GTEST_SKIP() << kNoGpu;
  ExecOptions exec;
  exec.device = c10::Device(c10::kCUDA, 0);
  const auto encoder = SentenceEncoder::load(fixtures() / "tiny-bert-st", exec);
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) texts.push_back("sentence number " + std::to_string(i * 7919));
  EncodeOptions whole, chunked;
  whole.pipeline_chunk = 0;
  chunked.pipeline_chunk = 7;
  chunked.max_padded_tokens = 64;
  EXPECT_LT(test::max_abs_diff(encoder.encode(texts, chunked).embeddings,
                               encoder.encode(texts, whole).embeddings, "chunks of 7 vs one"),
            1e-5);
}

// Three full fine-tuning steps (dropout on: its masks are drawn on the CPU for every device).
std::vector<double> losses_on(const std::string& device) {
  auto j = test::tiny_train_config();
  j["training"]["device"] = device;
  TrainerOptions options;
  options.progress = false;
  Trainer trainer(TrainConfig::from_json(j, ".", "test config"), options);
  trainer.run_steps(3);
  return trainer.loss_history();
}

TEST(Device, GpuTrainingStepsMatchTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << kNoGpu;
  const auto cpu = losses_on("cpu"), gpu = losses_on("cuda");
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 1e-4) << "step " << i;
}

}  // namespace
}  // namespace mtst
