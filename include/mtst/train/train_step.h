// One multi-task training step's math: collate a task's texts into a padded batch, run the
// shared encoder and each task's head, and combine the per-task cross-entropies into the
// weighted mean that is back-propagated. The optimizer step and scheduling live in the trainer.
// Shapes: B batch, T tokens (longest in the batch).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "mtst/model/multitask_model.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/text/tokenizer.h"

namespace mtst {

struct TaskBatch {
  std::string task;
  at::Tensor input_ids;       // [B,T] int64, [PAD]-padded
  at::Tensor attention_mask;  // [B,T] int64
  at::Tensor labels;          // [B] int64
  int64_t pad_id = 0;         // the id input_ids are padded with
  double weight = 1.0;        // the task's loss weight
  at::Tensor class_weights;   // [C] float32, or undefined for none
};

// Tokenizes TEXTS (truncated to MAX_LENGTH, keeping [SEP]) and pads to the longest.
TaskBatch collate(const Tokenizer& tokenizer, const std::string& task,
                  const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                  size_t max_length, double weight = 1.0);

struct StepLoss {
  std::vector<double> per_task;  // cross-entropy of each batch, in BATCHES order
  double combined = 0;           // sum(w_i * CE_i) / sum(w_i)
  // With a LossScale these are this process's shares: summed over the ranks they are the
  // step's values.
};

// The same from token ids already truncated ([CLS] ... [SEP]).
TaskBatch collate_ids(int64_t pad_id, const std::string& task,
                      const std::vector<const std::vector<int64_t>*>& ids,
                      const std::vector<int64_t>& labels, double weight = 1.0);

// How a step's loss is normalised. Each task's loss is its summed (class-weighted)
// cross-entropy divided by DENOMINATORS[i], and the step's is the weighted sum of those divided
// by WEIGHT_TOTAL. Without a LossScale each batch supplies its own (its class-weighted mean and
// the weights of its non-empty batches); ranks that each hold a shard of one step's batches pass
// the whole step's, so that the sum of their gradients is the one-process gradient.
struct LossScale {
  std::vector<double> denominators;  // per batch; 0 for a task absent from the whole step
  double weight_total = 0;           // sum of the loss weights of the tasks present
};

// A batch's denominator: the sum of CLASS_WEIGHTS over LABELS, or their count without weights.
double loss_denominator(const at::Tensor& labels, const at::Tensor& class_weights);

// Forward, loss and backward (gradients accumulate; the caller zeroes them). Batches with no
// rows are skipped (a sampler may leave a task out of a step). All tasks' sentences share one
// encoder pass (each sentence is encoded independently, so this equals one pass per task). With
// bf16 the forward pass runs under CPU autocast (matrix products in bf16, losses in fp32); the
// backward pass does not. With SCALE, a step whose batches are all empty here is no error: it
// contributes nothing (no backward).
StepLoss forward_backward(MultiTaskModel& model, const std::vector<TaskBatch>& batches,
                          Precision precision = Precision::kFp32, const LossScale* scale = nullptr);

// A batch of sentence embeddings computed once by a frozen encoder (see embedding_cache.h).
struct CachedBatch {
  std::string task;
  at::Tensor embeddings;  // [B,H] float32
  at::Tensor labels;      // [B] int64
  double weight = 1.0;
  at::Tensor class_weights;  // [C] float32, or undefined for none
};

// The same loss on cached embeddings: only the heads run forward and backward.
StepLoss forward_backward(MultiTaskModel& model, const std::vector<CachedBatch>& batches,
                          Precision precision = Precision::kFp32, const LossScale* scale = nullptr);

}  // namespace mtst
