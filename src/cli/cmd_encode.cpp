// `mtst encode`: sentence embeddings for each input, as .npy, .jsonl or JSON lines on stdout,
// streamed (encode_stream) and optionally for one shard of the input file. Defaults (pooling,
// normalisation, max length) come from the model directory.
#include <iostream>
#include <string>

#include "cli/batch_options.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/precision_option.h"
#include "mtst/error.h"
#include "mtst/io/embedding_output.h"
#include "mtst/io/text_input.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/model/stream_encode.h"
#include "mtst/ops/exec_plan.h"

namespace mtst::cli {

namespace {

struct EncodeArgs {
  std::string model;
  std::string input = "-";
  std::string output;
  size_t batch_size = 32;
  size_t max_batch_tokens = 0;
  size_t max_seq_length = 0;
  std::string pooling;
  bool normalize = false;
  bool no_normalize = false;
  std::string precision = "fp32";
  std::string device = "cpu";
  int threads = 0;
  std::string shard;
};

void run_encode(const EncodeArgs& args) {
  check_embedding_output_path(args.output);
  if (args.normalize && args.no_normalize) {
    throw Error("--normalize and --no-normalize exclude each other");
  }
  const InputShard shard = args.shard.empty() ? InputShard{} : parse_input_shard(args.shard);
  const ExecOptions exec = apply_exec_options(args.device, args.precision, args.threads);
  EncodeOptions options;
  options.batch_size = args.batch_size;
  options.max_padded_tokens = args.max_batch_tokens;
  options.max_seq_length = args.max_seq_length;
  if (!args.pooling.empty()) options.pooling = {parse_pooling_mode(args.pooling)};
  if (args.normalize) options.normalize = 1;
  if (args.no_normalize) options.normalize = 0;
  TextRecordReader input(args.input, shard);
  const auto encoder = SentenceEncoder::load(args.model, exec);
  const size_t max_len = encoder.resolve_max_length(options);
  EmbeddingWriter output(args.output, encoder.embedding_dim(options.pooling));
  const StreamEncodeStats stats = encode_stream(encoder, input, output, options);
  output.finish();
  if (stats.truncated > 0) {
    std::cerr << "mtst: " << stats.truncated << " of " << stats.texts << " inputs were longer than "
              << max_len << " tokens and were truncated\n";
  }
}

}  // namespace

void add_encode_command(CLI::App& app) {
  auto args = std::make_shared<EncodeArgs>();
  auto* cmd = app.add_subcommand("encode", "Sentence embeddings for each input");
  cmd->add_option("--model", args->model,
                  "Model directory (sentence-transformers or Hugging Face BERT)")
      ->required();
  cmd->add_option("--input", args->input,
                  "Text file (one sentence per line) or .jsonl with a \"text\" field; - = stdin. "
                  "Read as it is encoded: memory does not grow with the input");
  cmd->add_option("--shard", args->shard,
                  "K/N: encode only the K-th (from 0) of N byte ranges of --input, whole lines; "
                  "the N outputs in order are the output of the whole file");
  cmd->add_option("--output", args->output,
                  ".npy (float32, one row per input) or .jsonl; empty = JSON lines on stdout");
  add_batch_options(cmd, args->batch_size, args->max_batch_tokens);
  cmd->add_option("--max-seq-length", args->max_seq_length,
                  "Truncate longer inputs (0 = the model's max_seq_length)");
  cmd->add_option("--pooling", args->pooling,
                  "mean | cls | max | mean_sqrt_len (empty = the model's pooling)");
  cmd->add_flag("--normalize", args->normalize, "L2-normalise (default: the model's Normalize)");
  cmd->add_flag("--no-normalize", args->no_normalize, "Do not L2-normalise");
  add_precision_option(cmd, args->precision);
  add_device_option(cmd, args->device);
  cmd->add_option("--threads", args->threads, "CPU threads (0 = physical cores)");
  cmd->callback([args] { run_encode(*args); });
}

}  // namespace mtst::cli
