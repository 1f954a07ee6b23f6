// Right padding of token-id rows (see padded_batch.h).
#include "mtst/model/padded_batch.h"

#include <algorithm>

namespace mtst {

PaddedBatch pad_token_ids(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad_id) {
  size_t longest = 0;
  for (const auto* row : rows) longest = std::max(longest, row->size());
  const auto B = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(longest);
  PaddedBatch batch{at::full({B, T}, pad_id, at::kLong), at::zeros({B, T}, at::kLong)};
  auto* ids = batch.input_ids.data_ptr<int64_t>();
  auto* mask = batch.attention_mask.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& row = *rows[static_cast<size_t>(b)];
    std::copy(row.begin(), row.end(), ids + b * T);
    std::fill_n(mask + b * T, row.size(), 1);
  }
  return batch;
}

PaddedBatch pad_token_ids(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id) {
  std::vector<const std::vector<int64_t>*> pointers;
  pointers.reserve(rows.size());
  for (const auto& row : rows) pointers.push_back(&row);
  return pad_token_ids(pointers, pad_id);
}

}  // namespace mtst
