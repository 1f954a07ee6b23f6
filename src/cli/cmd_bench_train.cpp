// `mtst bench train`: multi-task training throughput, one JSON line. A sample is one sentence of
// one task, so a step of two tasks at batch 32 is 64 samples. Warm-up steps run outside the
// timer; nothing is validated or written. With --epochs the timer covers whole epochs plus,
// for a frozen backbone, the time to build the embedding cache.
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "mtst/error.h"
#include "mtst/io/json_file.h"
#include "mtst/train/trainer.h"

namespace mtst::cli {

namespace {

struct BenchTrainArgs {
  std::string config;
  bool random_init = false;
  int64_t steps = 20;
  int64_t warmup = 3;
  int64_t epochs = 0;
  std::string precision;
  std::string device;  // empty: the config's
  int threads = -1;
  std::vector<std::string> overrides;
  bool no_cache = false;
  size_t train_limit = 0;
  std::string profile;
};

double round_to(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

void run_bench_train(const BenchTrainArgs& args) {
  auto overrides = args.overrides;
  if (!args.precision.empty()) overrides.push_back("training.precision=\"" + args.precision + "\"");
  if (!args.device.empty()) overrides.push_back("training.device=\"" + args.device + "\"");
  if (args.threads >= 0) overrides.push_back("training.threads=" + std::to_string(args.threads));
  if (args.random_init) {
    // Keep the backbone's shape, drop its weights.
    const auto raw = read_json_file(args.config);
    const auto& backbone = raw.at("backbone");
    if (backbone.contains("model")) {
      overrides.push_back(
          "backbone.config=\"" +
          (std::filesystem::path(backbone.at("model").get<std::string>()) / "config.json")
              .string() +
          "\"");
      overrides.push_back("backbone.init=\"random\"");
      overrides.push_back("backbone.model=null");
    }
  }
  auto config = TrainConfig::from_file(args.config, overrides);
  const int threads = apply_threads(config.threads);
  TrainerOptions options;
  options.progress = false;
  options.cache_embeddings = !args.no_cache;
  options.max_train_examples = args.train_limit;
  using clock = std::chrono::steady_clock;
  const auto built = clock::now();
  Trainer trainer(config, options);
  const double setup_s = std::chrono::duration<double>(clock::now() - built).count();
  const int64_t steps = args.epochs > 0 ? args.epochs * trainer.steps_per_epoch() : args.steps;
  if (args.epochs == 0) trainer.run_steps(args.warmup);
  const auto t0 = clock::now();
  size_t samples = 0;
  if (!args.profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(args.profile);
    samples = trainer.run_steps(steps);
  } else {
    samples = trainer.run_steps(steps);
  }
  const double seconds = std::chrono::duration<double>(clock::now() - t0).count();
  nlohmann::json out = {{"bench", "train"},
                        {"engine", "mtst"},
                        {"precision", precision_name(config.precision)},
                        {"threads", threads},
                        {"device", config.device},
                        {"batch_size", config.batch_size},
                        {"tasks", config.tasks.size()},
                        {"freeze", config.freeze},
                        {"embedding_cache", trainer.cache_seconds() > 0},
                        {"steps", steps},
                        {"samples", samples},
                        {"seconds", round_to(seconds, 3)},
                        {"samples_per_s", round_to(static_cast<double>(samples) / seconds, 1)},
                        {"setup_seconds", round_to(setup_s, 3)},
                        {"cache_seconds", round_to(trainer.cache_seconds(), 3)}};
  if (args.epochs > 0) {
    out["epochs"] = args.epochs;
    out["epoch_seconds_with_cache_build"] =
        round_to((seconds + trainer.cache_seconds()) / static_cast<double>(args.epochs), 3);
  }
  std::cout << out.dump() << std::endl;
}

}  // namespace

void add_bench_train_command(CLI::App& bench) {
  auto args = std::make_shared<BenchTrainArgs>();
  auto* cmd = bench.add_subcommand("train", "Multi-task training throughput (samples/s)");
  cmd->option_defaults()->always_capture_default();
  cmd->add_option("--config", args->config, "Training config")->required();
  cmd->add_flag("--random-init", args->random_init,
                "Random backbone weights of the same shape (speed does not need real ones)");
  cmd->add_option("--steps", args->steps, "Timed steps")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "Untimed steps first");
  cmd->add_option("--epochs", args->epochs, "Time whole epochs instead of --steps");
  cmd->add_option("--precision", args->precision, "fp32 | bf16 (default: the config's)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--threads", args->threads, "CPU threads (default: the config's)");
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N | auto (default: the config's)");
  cmd->add_option("--set", args->overrides, "Override a config key (repeatable)");
  cmd->add_flag("--no-cache", args->no_cache,
                "Frozen backbone: run the encoder every step instead of caching embeddings");
  cmd->add_option("--train-limit", args->train_limit,
                  "Use only the first N training examples of each task (0 = all)");
  cmd->add_option("--profile", args->profile,
                  "Write a Chrome trace of the timed steps' operators to this file");
  cmd->callback([args] { run_bench_train(*args); });
}

}  // namespace mtst::cli
