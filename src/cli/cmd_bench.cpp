// `mtst bench encode`: encoder throughput on a corpus, one JSON line (sentences/s, tokens/s).
// Tokenizes once outside the timer (as the peers do), then encodes whole passes over the corpus
// until --seconds have elapsed. With --config + --random-init no checkpoint is needed.
#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/batch_options.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/precision_option.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/ops/exec_plan.h"
#include "ops/kernel_plan.h"

namespace mtst::cli {

namespace {

struct BenchEncodeArgs {
  std::string model;
  std::string config;
  bool random_init = false;
  std::string input;
  std::string precision = "fp32";
  std::string device = "cpu";
  size_t batch_size = 32;
  size_t max_batch_tokens = 0;
  size_t max_seq_length = 0;
  int threads = 0;
  double seconds = 20.0;
  bool compare_fp32 = false;
};

double round_to(double v, double decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

void run_bench_encode(const BenchEncodeArgs& args) {
  if (args.model.empty() == args.config.empty()) {
    throw Error("bench encode: give exactly one of --model DIR or --config CONFIG.json");
  }
  if (!args.config.empty() && !args.random_init) {
    throw Error("bench encode: --config needs --random-init (weights come from --model)");
  }
  const ExecOptions exec = apply_exec_options(args.device, args.precision, args.threads);
  const auto texts = read_texts(args.input);
  if (texts.empty()) throw Error("bench encode: " + args.input + " holds no sentences");
  auto make_encoder = [&](const ExecOptions& e) {
    return args.model.empty() ? SentenceEncoder::random(args.config, e)
                              : SentenceEncoder::load(args.model, e);
  };
  const auto encoder = make_encoder(exec);
  const size_t max_len = args.max_seq_length == 0 ? encoder.max_seq_length() : args.max_seq_length;

  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(texts.size());
  size_t tokens_per_pass = 0;
  for (const auto& text : texts) {
    ids.push_back(encoder.tokenize(text, max_len));
    tokens_per_pass += ids.back().size();
  }
  const double tokenize_s = std::chrono::duration<double>(clock::now() - t0).count();

  EncodeOptions options;
  options.batch_size = args.batch_size;
  options.max_padded_tokens = args.max_batch_tokens;
  size_t sentences = 0, tokens = 0;
  t0 = clock::now();
  double elapsed = 0;
  do {
    encoder.encode_ids(ids, options);
    sentences += ids.size();
    tokens += tokens_per_pass;
    elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  } while (elapsed < args.seconds);

  nlohmann::json out = {{"bench", "encode"},
                        {"engine", "mtst"},
                        {"precision", args.precision},
                        {"kernels", kernel_plan(exec.precision, exec.device).describe()},
                        {"device", device_name(exec.device)},
                        {"threads", exec.threads},
                        {"batch_size", args.batch_size},
                        {"max_batch_tokens", args.max_batch_tokens},
                        {"max_seq_length", max_len},
                        {"sentences", sentences},
                        {"seconds", round_to(elapsed, 3)},
                        {"sentences_per_s", round_to(sentences / elapsed, 1)},
                        {"tokens_per_s", round_to(tokens / elapsed, 1)},
                        {"tokenize_sentences_per_s", round_to(texts.size() / tokenize_s, 1)}};
  if (args.compare_fp32) {
    // The same weights (same seed or checkpoint) in fp32: how far the run's precision moves
    // the embeddings, by cosine similarity per sentence.
    ExecOptions fp32 = exec;
    fp32.precision = Precision::kFp32;
    const auto reference = make_encoder(fp32).encode_ids(ids, options);
    const auto cosine = at::cosine_similarity(encoder.encode_ids(ids, options), reference, 1);
    out["min_cosine_vs_fp32"] = cosine.min().item<double>();
    out["mean_cosine_vs_fp32"] = cosine.mean().item<double>();
  }
  std::cout << out.dump() << std::endl;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Throughput benchmarks (one JSON line each)");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchEncodeArgs>();
  auto* cmd = bench->add_subcommand("encode", "Encoder throughput on a corpus");
  cmd->option_defaults()->always_capture_default();
  cmd->add_option("--model", args->model, "Model directory (real weights)");
  cmd->add_option("--config", args->config,
                  "BERT config.json (with --random-init; tokenizer files from its directory)");
  cmd->add_flag("--random-init", args->random_init,
                "Random weights (speed does not need real ones)");
  cmd->add_option("--input", args->input, "Corpus: one sentence per line, or .jsonl")->required();
  add_precision_option(cmd, args->precision);
  add_batch_options(cmd, args->batch_size, args->max_batch_tokens);
  cmd->add_option("--max-seq-length", args->max_seq_length,
                  "Truncate longer inputs (0 = the model's max_seq_length)");
  add_device_option(cmd, args->device);
  cmd->add_option("--threads", args->threads, "CPU threads (0 = physical cores)");
  cmd->add_option("--seconds", args->seconds, "Minimum timed duration (whole corpus passes)");
  cmd->add_flag("--compare-fp32", args->compare_fp32,
                "Also encode in fp32 and report min/mean cosine of the run's embeddings to it");
  cmd->callback([args] { run_bench_encode(*args); });
  add_bench_train_command(*bench);
  add_bench_serve_command(*bench);
}

}  // namespace mtst::cli
