// Loading a model directory and encoding text: tokenize, sort by length, batch, BERT, pool,
// normalise, restore order. Length sorting keeps padding (wasted compute) near zero. On a GPU
// the texts go in chunks, the next one tokenized on a CPU thread while the GPU runs this one.
#include "mtst/model/sentence_encoder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>

#include "mtst/error.h"
#include "mtst/model/batch_encode.h"
#include "mtst/model/stream_encode.h"
#include "mtst/model/weights.h"
#include "ops/int8_calibration.h"

namespace mtst {

namespace {

// Token limit of the int8 calibration sentences (they are short; this bounds any that is not).
constexpr size_t kCalibrationLength = 128;

}  // namespace

SentenceEncoder::SentenceEncoder(ModelLayout layout, std::shared_ptr<Tokenizer> tokenizer,
                                 BertModel model, const ExecOptions& exec)
    : layout_(std::move(layout)), tokenizer_(std::move(tokenizer)), model_(std::move(model)) {
  model_->eval();
  // sentence-transformers: max_seq_length from its config, else the tokenizer's
  // model_max_length, never beyond the position table.
  size_t max_len = layout_.max_seq_length;
  if (max_len == 0) max_len = tokenizer_->model_max_length();
  const auto positions = static_cast<size_t>(model_->config().max_position_embeddings);
  max_seq_length_ = max_len == 0 ? positions : std::min(max_len, positions);
  std::vector<std::vector<int64_t>> calibration;
  if (exec.precision == Precision::kInt8) {
    for (const auto& text : int8_calibration_sentences()) {
      calibration.push_back(
          tokenizer_->encode(text, std::min(kCalibrationLength, max_seq_length_)));
    }
  }
  engine_ = make_encoder_engine(model_, exec.precision, exec.device, calibration);
}

SentenceEncoder SentenceEncoder::load(const std::filesystem::path& dir, const ExecOptions& exec) {
  ModelLayout layout = read_model_layout(dir);
  const auto& tdir = layout.transformer_dir;
  auto config = BertConfig::from_file(tdir / "config.json");
  auto tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_dir(tdir));
  if (tokenizer->vocab_size() > static_cast<size_t>(config.vocab_size)) {
    throw Error(tdir.string() + ": the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                " tokens but config.json vocab_size is " + std::to_string(config.vocab_size));
  }
  BertModel model(config);
  const auto weights = find_weight_file(tdir);
  load_bert_weights(model, read_weight_file(weights), weights.string());
  return SentenceEncoder(std::move(layout), std::move(tokenizer), std::move(model), exec);
}

SentenceEncoder SentenceEncoder::random(const std::filesystem::path& config_json,
                                        const ExecOptions& exec, uint64_t seed) {
  auto config = BertConfig::from_file(config_json);
  const auto dir =
      config_json.parent_path().empty() ? std::filesystem::path(".") : config_json.parent_path();
  ModelLayout layout;
  try {
    layout = read_model_layout(dir);
  } catch (const Error&) {
    layout = ModelLayout{"huggingface", dir, {PoolingMode::kMean}, false, 0};
  }
  auto tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_dir(dir));
  BertModel model(config);
  init_bert_weights(model, seed);
  return SentenceEncoder(std::move(layout), std::move(tokenizer), std::move(model), exec);
}

int64_t SentenceEncoder::embedding_dim(const std::vector<PoolingMode>& pooling) const {
  const size_t modes = pooling.empty() ? layout_.pooling.size() : pooling.size();
  return config().hidden_size * static_cast<int64_t>(modes);
}

std::vector<int64_t> SentenceEncoder::tokenize(const std::string& text, size_t max_length,
                                               bool* was_truncated) const {
  // Keeps [CLS] + the first tokens + [SEP], as Hugging Face truncation does; a long text is
  // tokenized only as far as the limit needs.
  return tokenizer_->encode(text, max_length, was_truncated);
}

at::Tensor SentenceEncoder::encode_ids(const std::vector<std::vector<int64_t>>& ids,
                                       const EncodeOptions& options) const {
  BatchEncodeOptions batch;
  batch.batch_size = options.batch_size;
  batch.max_padded_tokens = options.max_padded_tokens;
  batch.pooling = options.pooling.empty() ? layout_.pooling : options.pooling;
  batch.normalize = options.normalize < 0 ? layout_.normalize : options.normalize == 1;
  return encode_token_ids(*engine_, tokenizer_->pad_id(), ids, batch);
}

TokenizedTexts SentenceEncoder::tokenize_range(const std::vector<std::string>& texts, size_t begin,
                                               size_t end, size_t max_length) const {
  TokenizedTexts out;
  out.ids.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    bool cut = false;
    out.ids.push_back(tokenize(texts[i], max_length, &cut));
    out.truncated += cut ? 1 : 0;
    out.tokens += out.ids.back().size();
  }
  return out;
}

size_t SentenceEncoder::pipeline_chunk(const EncodeOptions& options) const {
  if (options.pipeline_chunk > 0) return static_cast<size_t>(options.pipeline_chunk);
  if (options.pipeline_chunk < 0 && !engine_->device().is_cpu()) return kGpuPipelineChunk;
  return 0;
}

size_t SentenceEncoder::resolve_max_length(const EncodeOptions& options) const {
  const size_t max_len = options.max_seq_length == 0 ? max_seq_length_ : options.max_seq_length;
  if (max_len > static_cast<size_t>(config().max_position_embeddings)) {
    throw Error("--max-seq-length " + std::to_string(max_len) + " exceeds the model's " +
                std::to_string(config().max_position_embeddings) + " positions");
  }
  if (max_len < 2) throw Error("--max-seq-length must be at least 2 ([CLS] and [SEP])");
  return max_len;
}

EncodeResult SentenceEncoder::encode(const std::vector<std::string>& texts,
                                     const EncodeOptions& options) const {
  // encode_stream's pipeline over TEXTS: on a CPU one chunk of all of them (sorted together),
  // on a GPU chunks tokenized ahead on a thread.
  const size_t max_len = resolve_max_length(options);
  size_t read = 0;
  auto next_chunk = [&](size_t count) {
    const size_t begin = read;
    read = std::min(texts.size(), begin + count);
    return tokenize_range(texts, begin, read, max_len);
  };
  std::vector<at::Tensor> parts;
  auto keep = [&parts](const at::Tensor& rows) { parts.push_back(rows); };
  const auto stats =
      encode_chunks(*this, next_chunk, std::max<size_t>(texts.size(), 1), keep, options);
  EncodeResult result;
  result.truncated = stats.truncated;
  result.tokens = stats.tokens;
  result.embeddings = parts.empty()       ? encode_ids({}, options)
                      : parts.size() == 1 ? parts[0]
                                          : at::cat(parts, 0);
  return result;
}

}  // namespace mtst
