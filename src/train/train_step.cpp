// Collation and the multi-task loss (see train_step.h).
#include "mtst/train/train_step.h"

#include <algorithm>

#include "mtst/error.h"

namespace mtst {

TaskBatch collate(const Tokenizer& tokenizer, const std::string& task,
                  const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                  size_t max_length, double weight) {
  if (texts.size() != labels.size()) throw Error("collate: texts and labels differ in count");
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 0;
  for (const auto& text : texts) {
    ids.push_back(tokenizer.encode(text, max_length));
    longest = std::max(longest, ids.back().size());
  }
  const auto B = static_cast<int64_t>(texts.size()), T = static_cast<int64_t>(longest);
  TaskBatch batch;
  batch.task = task;
  batch.weight = weight;
  batch.input_ids = at::full({B, T}, tokenizer.pad_id(), at::kLong);
  batch.attention_mask = at::zeros({B, T}, at::kLong);
  auto* id_data = batch.input_ids.data_ptr<int64_t>();
  auto* mask_data = batch.attention_mask.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& row = ids[static_cast<size_t>(b)];
    std::copy(row.begin(), row.end(), id_data + b * T);
    std::fill(mask_data + b * T, mask_data + b * T + static_cast<int64_t>(row.size()), 1);
  }
  batch.labels = at::tensor(labels, at::kLong);
  return batch;
}

namespace {

// Runs each (task, embeddings) through its head, combines the weighted cross-entropies and
// back-propagates. EMBED maps batch i to its sentence embeddings (or an undefined tensor when
// the batch is empty).
template <typename Batch, typename Embed>
StepLoss heads_loss_backward(MultiTaskModel& model, const std::vector<Batch>& batches,
                             Embed embed) {
  StepLoss result;
  at::Tensor total;
  double weights = 0;
  for (const auto& batch : batches) {
    if (batch.labels.numel() == 0) {
      result.per_task.push_back(0.0);
      continue;
    }
    const at::Tensor loss =
        at::cross_entropy_loss(model->logits(batch.task, embed(batch)), batch.labels);
    result.per_task.push_back(loss.item<double>());
    total = total.defined() ? total + batch.weight * loss : batch.weight * loss;
    weights += batch.weight;
  }
  if (!total.defined()) throw Error("training step: every batch is empty");
  auto combined = total / weights;
  result.combined = combined.item<double>();
  combined.backward();
  return result;
}

}  // namespace

StepLoss forward_backward(MultiTaskModel& model, const std::vector<TaskBatch>& batches) {
  return heads_loss_backward(model, batches, [&](const TaskBatch& b) {
    return model->embed(b.input_ids, b.attention_mask);
  });
}

StepLoss forward_backward(MultiTaskModel& model, const std::vector<CachedBatch>& batches) {
  return heads_loss_backward(model, batches, [](const CachedBatch& b) { return b.embeddings; });
}

}  // namespace mtst
