// Token-id rows of unequal length as one right-padded batch: the one place ids become the
// [B,T] input_ids / attention_mask pair (inference, the embedding cache, training batches,
// the Python package). T is the longest row.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace mtst {

struct PaddedBatch {
  at::Tensor input_ids;       // [B,T] int64, PAD_ID after each row's end
  at::Tensor attention_mask;  // [B,T] int64, 1 on real tokens, 0 on padding
};

PaddedBatch pad_token_ids(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id);
PaddedBatch pad_token_ids(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id);

}  // namespace mtst
