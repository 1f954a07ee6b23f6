// One multi-task training step's math: collate a task's texts into a padded batch, run the
// shared encoder and each task's head, and combine the per-task cross-entropies into the
// weighted mean that is back-propagated. The optimizer step and scheduling live in the trainer.
// Shapes: B batch, T tokens (longest in the batch).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "mtst/model/multitask_model.h"
#include "mtst/text/tokenizer.h"

namespace mtst {

struct TaskBatch {
  std::string task;
  at::Tensor input_ids;       // [B,T] int64, [PAD]-padded
  at::Tensor attention_mask;  // [B,T] int64
  at::Tensor labels;          // [B] int64
  double weight = 1.0;        // the task's loss weight
};

// Tokenizes TEXTS (truncated to MAX_LENGTH, keeping [SEP]) and pads to the longest.
TaskBatch collate(const Tokenizer& tokenizer, const std::string& task,
                  const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                  size_t max_length, double weight = 1.0);

struct StepLoss {
  std::vector<double> per_task;  // cross-entropy of each batch, in BATCHES order
  double combined = 0;           // sum(w_i * CE_i) / sum(w_i)
};

// Forward, loss and backward (gradients accumulate; the caller zeroes them). Batches with no
// rows are skipped (a sampler may leave a task out of a step).
StepLoss forward_backward(MultiTaskModel& model, const std::vector<TaskBatch>& batches);

// A batch of sentence embeddings computed once by a frozen encoder (see embedding_cache.h).
struct CachedBatch {
  std::string task;
  at::Tensor embeddings;  // [B,H] float32
  at::Tensor labels;      // [B] int64
  double weight = 1.0;
};

// The same loss on cached embeddings: only the heads run forward and backward.
StepLoss forward_backward(MultiTaskModel& model, const std::vector<CachedBatch>& batches);

}  // namespace mtst
