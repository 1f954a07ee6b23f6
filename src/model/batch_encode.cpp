// The sort -> batch -> pool loop (see batch_encode.h).
#include "mtst/model/batch_encode.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>
#include <string>

#include "mtst/error.h"
#include "mtst/model/padded_batch.h"
#include "runtime/batch_workers.h"

namespace mtst {

namespace {

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

void check_ids(const BertConfig& config, const std::vector<std::vector<int64_t>>& ids) {
  const auto positions = static_cast<size_t>(config.max_position_embeddings);
  for (const auto& seq : ids) {
    if (seq.empty()) throw Error("encode: an input has no tokens");
    if (seq.size() > positions) {
      throw Error("encode: an input has " + std::to_string(seq.size()) +
                  " tokens; the model's limit is " + std::to_string(positions));
    }
    for (int64_t id : seq) {
      if (id < 0 || id >= config.vocab_size) throw Error("encode: token id out of range");
    }
  }
}

// Pooled [B,D] float32 rows, on the engine's device (a GPU's stay there: no sync per batch).
at::Tensor run_batch(const EncoderEngine& engine, int64_t pad_id,
                     const std::vector<const std::vector<int64_t>*>& batch,
                     const std::vector<PoolingMode>& pooling) {
  PaddedBatch padded = pad_token_ids(batch, pad_id);
  const auto& mask = padded.attention_mask;
  const auto device = engine.device();
  if (device.is_cpu()) return pool(engine.forward(padded.input_ids, mask), mask, pooling);
  // A GPU: the batch goes from pinned memory without a wait; the pooled rows stay on the device
  // until every batch is queued (encode_token_ids copies them back once).
  const auto input_ids = padded.input_ids.pin_memory();
  const auto device_mask = mask.pin_memory().to(device, /*non_blocking=*/true);
  return pool(engine.forward(input_ids, device_mask), device_mask, pooling);
}

// The forward passes over ORDER (indices of IDS, longest first).
std::vector<std::pair<size_t, size_t>> plan_passes(const std::vector<std::vector<int64_t>>& ids,
                                                   const std::vector<size_t>& order, bool on_cpu,
                                                   const BatchEncodeOptions& options) {
  std::vector<size_t> lengths(order.size());
  size_t tokens = 0;
  for (size_t i = 0; i < order.size(); ++i) tokens += lengths[i] = ids[order[i]].size();
  auto ranges = plan_forward_passes(lengths, options.batch_size, options.max_padded_tokens, 0);
  // Many passes: one pass per core at a time. Few (a server's batch): re-cut into passes of
  // equal real tokens, as many as the cores or a multiple, so every core has one; a padded pass
  // costs its real tokens only (the fused engine packs it). One sentence: all cores inside it.
  // (A GPU gets the batches as asked: one CPU thread feeds it, so it needs no re-cut.)
  const auto threads = static_cast<size_t>(std::max(1, at::get_num_threads()));
  if (on_cpu && options.per_core_passes && threads > 1 && ranges.size() < 4 * threads &&
      order.size() >= threads) {
    const size_t passes = (ranges.size() + threads - 1) / threads * threads;
    ranges = plan_forward_passes(lengths, options.batch_size, options.max_padded_tokens,
                                 (tokens + passes - 1) / passes);
  }
  return ranges;
}

}  // namespace

at::Tensor encode_token_ids(const EncoderEngine& engine, int64_t pad_id,
                            const std::vector<std::vector<int64_t>>& ids,
                            const BatchEncodeOptions& options) {
  at::InferenceMode inference;
  if (options.batch_size == 0) throw Error("--batch-size must be at least 1");
  check_ids(engine.config(), ids);
  const auto width = engine.config().hidden_size * static_cast<int64_t>(options.pooling.size());
  auto out = at::empty({static_cast<int64_t>(ids.size()), width}, at::kFloat);
  if (ids.empty()) return out;  // no input, no passes: an empty [0, D] result
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  const bool on_cpu = engine.device().is_cpu();
  const auto ranges = plan_passes(ids, order, on_cpu, options);
  const size_t batches = ranges.size();
  // One CPU thread feeds a GPU (its kernels queue up asynchronously); CPU passes run per core.
  const auto threads = static_cast<size_t>(std::max(1, at::get_num_threads()));
  const bool per_core = on_cpu && options.per_core_passes && batches >= threads;
  const int workers = per_core ? static_cast<int>(threads) : 1;
  std::vector<at::Tensor> results(batches);
  for_each_batch(batches, workers, [&](size_t b) {
    std::vector<const std::vector<int64_t>*> batch;
    for (size_t i = ranges[b].first; i < ranges[b].second; ++i) batch.push_back(&ids[order[i]]);
    auto emb = run_batch(engine, pad_id, batch, options.pooling);
    results[b] = options.normalize ? l2_normalize(emb) : emb;
  });
  auto sorted = at::cat(results, 0).to(at::kCPU);  // a GPU's one sync point
  auto rows = at::tensor(std::vector<int64_t>(order.begin(), order.end()), at::kLong);
  out.index_copy_(0, rows, sorted);
  return out;
}

}  // namespace mtst
