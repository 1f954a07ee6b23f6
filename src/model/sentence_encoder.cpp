// Loading a model directory and encoding text: tokenize, sort by length, batch, BERT, pool,
// normalise, restore order. Length sorting keeps padding (wasted compute) near zero. On a GPU
// the texts go in chunks, the next one tokenized on a CPU thread while the GPU runs this one.
#include "mtst/model/sentence_encoder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <future>
#include <numeric>

#include "mtst/error.h"
#include "mtst/model/weights.h"
#include "ops/int8_calibration.h"
#include "runtime/batch_workers.h"

namespace mtst {

namespace {

// Token limit of the int8 calibration sentences (they are short; this bounds any that is not).
constexpr size_t kCalibrationLength = 128;

// Consecutive ranges of the length-sorted (longest first) LENGTHS, one per forward pass: at most
// BATCH_SIZE sentences, MAX_PADDED (if > 0) sentences x longest, and MAX_TOKENS (if > 0) real
// tokens; a sentence longer than the caps still gets a pass of its own.
std::vector<std::pair<size_t, size_t>> plan_forward_passes(const std::vector<size_t>& lengths,
                                                           size_t batch_size, size_t max_padded,
                                                           size_t max_tokens) {
  std::vector<std::pair<size_t, size_t>> ranges;
  for (size_t start = 0; start < lengths.size();) {
    size_t end = start + 1, tokens = lengths[start];
    while (end < lengths.size() && end - start < batch_size &&
           (max_padded == 0 || (end - start + 1) * lengths[start] <= max_padded) &&
           (max_tokens == 0 || tokens + lengths[end] <= max_tokens)) {
      tokens += lengths[end++];
    }
    ranges.emplace_back(start, end);
    start = end;
  }
  return ranges;
}

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
  inference_ = std::make_shared<InferenceBert>(model_, exec.precision, exec.device, calibration);
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

at::Tensor SentenceEncoder::run_batch(const std::vector<const std::vector<int64_t>*>& batch,
                                      const std::vector<PoolingMode>& pooling) const {
  const int64_t B = static_cast<int64_t>(batch.size());
  size_t longest = 0;
  for (const auto* ids : batch) longest = std::max(longest, ids->size());
  const int64_t T = static_cast<int64_t>(longest);
  auto input_ids = at::full({B, T}, tokenizer_->pad_id(), at::kLong);
  auto mask = at::zeros({B, T}, at::kLong);
  auto* id_data = input_ids.data_ptr<int64_t>();
  auto* mask_data = mask.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& ids = *batch[static_cast<size_t>(b)];
    std::copy(ids.begin(), ids.end(), id_data + b * T);
    std::fill(mask_data + b * T, mask_data + b * T + static_cast<int64_t>(ids.size()), 1);
  }
  const auto device = inference_->device();
  if (device.is_cpu()) return pool(inference_->forward(input_ids, mask), mask, pooling);
  // A GPU: the batch goes from pinned memory without a wait; the pooled rows stay on the device
  // until every batch is queued (encode_ids copies them back once).
  input_ids = input_ids.pin_memory();
  const auto device_mask = mask.pin_memory().to(device, /*non_blocking=*/true);
  auto hidden = inference_->forward(input_ids, device_mask);
  return pool(hidden, device_mask, pooling);
}

at::Tensor SentenceEncoder::encode_ids(const std::vector<std::vector<int64_t>>& ids,
                                       const EncodeOptions& options) const {
  at::InferenceMode inference;
  if (options.batch_size == 0) throw Error("--batch-size must be at least 1");
  const auto& pooling = options.pooling.empty() ? layout_.pooling : options.pooling;
  const bool normalize = options.normalize < 0 ? layout_.normalize : options.normalize == 1;
  const int64_t vocab = config().vocab_size;
  const auto positions = static_cast<size_t>(config().max_position_embeddings);
  for (const auto& seq : ids) {
    if (seq.empty()) throw Error("encode: an input has no tokens");
    if (seq.size() > positions) {
      throw Error("encode: an input has " + std::to_string(seq.size()) +
                  " tokens; the model's limit is " + std::to_string(positions));
    }
    for (int64_t id : seq) {
      if (id < 0 || id >= vocab) throw Error("encode: token id out of range");
    }
  }
  const int64_t N = static_cast<int64_t>(ids.size());
  auto out = at::empty({N, embedding_dim(pooling)}, at::kFloat);
  if (N == 0) return out;  // no input, no passes: an empty [0, H] result
  // Longest first: equal lengths share a batch, so padding stays near zero.
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  std::vector<size_t> lengths(order.size());
  size_t tokens = 0;
  for (size_t i = 0; i < order.size(); ++i) tokens += lengths[i] = ids[order[i]].size();
  auto ranges = plan_forward_passes(lengths, options.batch_size, options.max_padded_tokens, 0);
  // Many passes: one pass per core at a time. Few (a server's batch): re-cut into passes of
  // equal real tokens, as many as the cores or a multiple, so every core has one; a padded pass
  // costs its real tokens only (InferenceBert packs it). One sentence: all cores inside it.
  const auto threads = static_cast<size_t>(std::max(1, at::get_num_threads()));
  // (A GPU gets the batches as asked: one CPU thread feeds it, so it needs no re-cut.)
  const bool on_cpu = inference_->device().is_cpu();
  if (on_cpu && threads > 1 && ranges.size() < 4 * threads && order.size() >= threads) {
    const size_t passes = (ranges.size() + threads - 1) / threads * threads;
    ranges = plan_forward_passes(lengths, options.batch_size, options.max_padded_tokens,
                                 (tokens + passes - 1) / passes);
  }
  const size_t batches = ranges.size();
  // One CPU thread feeds a GPU (its kernels queue up asynchronously); CPU passes run per core.
  const int workers = on_cpu && batches >= threads ? static_cast<int>(threads) : 1;
  std::vector<at::Tensor> results(batches);
  for_each_batch(batches, workers, [&](size_t b) {
    std::vector<const std::vector<int64_t>*> batch;
    for (size_t i = ranges[b].first; i < ranges[b].second; ++i) batch.push_back(&ids[order[i]]);
    auto emb = run_batch(batch, pooling);
    results[b] = normalize ? l2_normalize(emb) : emb;
  });
  auto sorted = at::cat(results, 0).to(at::kCPU);  // a GPU's one sync point
  auto rows = at::tensor(std::vector<int64_t>(order.begin(), order.end()), at::kLong);
  out.index_copy_(0, rows, sorted);
  return out;
}

struct SentenceEncoder::TokenizedTexts {
  std::vector<std::vector<int64_t>> ids;
  size_t truncated = 0;
  size_t tokens = 0;
};

SentenceEncoder::TokenizedTexts SentenceEncoder::tokenize_range(
    const std::vector<std::string>& texts, size_t begin, size_t end, size_t max_length) const {
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
  if (options.pipeline_chunk < 0 && !inference_->device().is_cpu()) return kGpuPipelineChunk;
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
  const size_t max_len = resolve_max_length(options);
  const size_t n = texts.size();
  size_t chunk = pipeline_chunk(options);
  if (chunk == 0 || chunk > n) chunk = std::max<size_t>(n, 1);
  auto tokenize_chunk = [&](size_t begin) {
    return tokenize_range(texts, begin, std::min(begin + chunk, n), max_len);
  };
  // Chunk k+1 is tokenized on its own thread while chunk k runs on the device.
  std::future<TokenizedTexts> next = std::async(std::launch::deferred, tokenize_chunk, 0);
  EncodeResult result;
  std::vector<at::Tensor> parts;
  for (size_t begin = 0; begin < n || parts.empty(); begin += chunk) {
    TokenizedTexts current = next.get();
    if (begin + chunk < n) next = std::async(std::launch::async, tokenize_chunk, begin + chunk);
    parts.push_back(encode_ids(current.ids, options));
    result.truncated += current.truncated;
    result.tokens += current.tokens;
  }
  result.embeddings = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
  return result;
}

}  // namespace mtst
