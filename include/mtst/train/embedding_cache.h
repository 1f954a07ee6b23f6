// Sentence embeddings of a whole dataset computed once by a frozen encoder, so that training
// with the backbone frozen runs only the heads each step (the encoder is ~99% of the cost).
// Uses the fused inference path; equal to the module's forward within float rounding (tested).
// Shapes: N examples, H hidden.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "mtst/model/multitask_model.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/text/tokenizer.h"

namespace mtst {

// [N,H] float32 pooled embeddings of TEXTS (truncated to MAX_LENGTH), in input order.
at::Tensor cache_embeddings(const MultiTaskModel& model, const Tokenizer& tokenizer,
                            const std::vector<std::string>& texts, size_t max_length,
                            size_t batch_size, Precision precision);

// The same from token ids already truncated ([CLS] ... [SEP]); PAD_ID fills the batches.
at::Tensor cache_embeddings(const MultiTaskModel& model, int64_t pad_id,
                            const std::vector<std::vector<int64_t>>& ids, size_t batch_size,
                            Precision precision);

}  // namespace mtst
