// Token ids to pooled embeddings with an encoder engine: the one sort -> batch -> pool loop,
// used by SentenceEncoder (encode, encode_stream, the server) and the training embedding cache.
// Rows are sorted longest first so that a batch holds near-equal lengths (padding near zero),
// cut into forward passes, run one pass per core on a CPU (or fed to a GPU from one thread),
// and put back in input order.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mtst/model/encoder_engine.h"
#include "mtst/model/pooling.h"

namespace mtst {

struct BatchEncodeOptions {
  size_t batch_size = 32;            // sentences per forward pass, at most (>= 1)
  size_t max_padded_tokens = 0;      // > 0: also cap sentences x longest per forward pass
  std::vector<PoolingMode> pooling;  // at least one mode
  bool normalize = false;            // L2-normalise each pooled row
  // CPU: passes run one per core on the batch workers (and few passes are re-cut so that every
  // core has one). false: the passes as cut, one after another on the calling thread with all
  // cores inside each operator (the training cache: after the batch workers had run, the
  // heads' tiny steps that follow it ran 2x slower).
  bool per_core_passes = true;
};

// [N, D] float32 rows of IDS ([CLS] ... [SEP], already truncated) in input order, on the CPU.
// Throws mtst::Error for an empty row, one past the model's positions or an id out of range.
at::Tensor encode_token_ids(const EncoderEngine& engine, int64_t pad_id,
                            const std::vector<std::vector<int64_t>>& ids,
                            const BatchEncodeOptions& options);

}  // namespace mtst
