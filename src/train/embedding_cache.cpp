// Frozen-encoder embedding cache (see embedding_cache.h).
#include "mtst/train/embedding_cache.h"

#include <algorithm>
#include <numeric>

#include "mtst/error.h"
#include "mtst/model/inference_bert.h"

namespace mtst {

namespace {

at::Tensor encode_sorted(const MultiTaskModel& model, int64_t pad_id,
                         const std::vector<std::vector<int64_t>>& ids, size_t batch_size,
                         Precision precision) {
  const auto device = model->device();
  const InferenceBert encoder(model->bert, precision, device);
  // Longest first, so batches hold equal lengths and padding stays near zero.
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  auto out =
      at::empty({static_cast<int64_t>(ids.size()),
                 model->bert->config().hidden_size * static_cast<int64_t>(model->pooling_.size())},
                at::TensorOptions().device(device));
  for (size_t start = 0; start < order.size(); start += batch_size) {
    const size_t end = std::min(order.size(), start + batch_size);
    size_t longest = 0;
    for (size_t i = start; i < end; ++i) longest = std::max(longest, ids[order[i]].size());
    const auto B = static_cast<int64_t>(end - start), T = static_cast<int64_t>(longest);
    auto input_ids = at::full({B, T}, pad_id, at::kLong);
    auto mask = at::zeros({B, T}, at::kLong);
    std::vector<int64_t> rows;
    for (int64_t b = 0; b < B; ++b) {
      const auto& seq = ids[order[start + static_cast<size_t>(b)]];
      std::copy(seq.begin(), seq.end(), input_ids.data_ptr<int64_t>() + b * T);
      std::fill(mask.data_ptr<int64_t>() + b * T,
                mask.data_ptr<int64_t>() + b * T + static_cast<int64_t>(seq.size()), 1);
      rows.push_back(static_cast<int64_t>(order[start + static_cast<size_t>(b)]));
    }
    const auto device_mask = mask.to(device);
    auto pooled = pool(encoder.forward(input_ids, device_mask), device_mask, model->pooling_);
    out.index_copy_(0, at::tensor(rows, at::kLong).to(device), pooled);
  }
  return out;
}

}  // namespace

at::Tensor cache_embeddings(const MultiTaskModel& model, int64_t pad_id,
                            const std::vector<std::vector<int64_t>>& ids, size_t batch_size,
                            Precision precision) {
  if (batch_size == 0) throw Error("embedding cache: batch size must be at least 1");
  at::Tensor out;
  {
    at::InferenceMode inference;
    out = encode_sorted(model, pad_id, ids, batch_size, precision);
  }
  // A copy made outside inference mode: the heads' autograd may save it for backward.
  return out.clone();
}

at::Tensor cache_embeddings(const MultiTaskModel& model, const Tokenizer& tokenizer,
                            const std::vector<std::string>& texts, size_t max_length,
                            size_t batch_size, Precision precision) {
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(texts.size());
  for (const auto& text : texts) ids.push_back(tokenizer.encode(text, max_length));
  return cache_embeddings(model, tokenizer.pad_id(), ids, batch_size, precision);
}

}  // namespace mtst
