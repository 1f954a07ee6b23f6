// Frozen-encoder embedding cache (see embedding_cache.h).
#include "mtst/train/embedding_cache.h"

#include "mtst/error.h"
#include "mtst/model/batch_encode.h"

namespace mtst {

at::Tensor cache_embeddings(const MultiTaskModel& model, int64_t pad_id,
                            const std::vector<std::vector<int64_t>>& ids, size_t batch_size,
                            Precision precision) {
  if (batch_size == 0) throw Error("embedding cache: batch size must be at least 1");
  const auto device = model->device();
  BatchEncodeOptions options;
  options.batch_size = batch_size;
  options.pooling = model->pooling_;
  options.per_core_passes = false;
  const auto engine = make_encoder_engine(model->bert, precision, device);
  const at::Tensor rows = encode_token_ids(*engine, pad_id, ids, options);
  // A copy made outside inference mode: the heads' autograd may save it for backward.
  return device.is_cpu() ? rows.clone() : rows.to(device);
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
