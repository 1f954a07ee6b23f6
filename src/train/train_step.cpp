// Collation and the multi-task loss (see train_step.h).
#include "mtst/train/train_step.h"

#include <algorithm>
#include <memory>

#include "mtst/error.h"
#include "mtst/model/padded_batch.h"
#include "runtime/autocast.h"

namespace mtst {

TaskBatch collate(const Tokenizer& tokenizer, const std::string& task,
                  const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                  size_t max_length, double weight) {
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(texts.size());
  for (const auto& text : texts) ids.push_back(tokenizer.encode(text, max_length));
  std::vector<const std::vector<int64_t>*> rows;
  for (const auto& row : ids) rows.push_back(&row);
  return collate_ids(tokenizer.pad_id(), task, rows, labels, weight);
}

TaskBatch collate_ids(int64_t pad_id, const std::string& task,
                      const std::vector<const std::vector<int64_t>*>& ids,
                      const std::vector<int64_t>& labels, double weight) {
  if (ids.size() != labels.size()) throw Error("collate: texts and labels differ in count");
  TaskBatch batch;
  batch.task = task;
  batch.weight = weight;
  batch.pad_id = pad_id;
  PaddedBatch padded = pad_token_ids(ids, pad_id);
  batch.input_ids = std::move(padded.input_ids);
  batch.attention_mask = std::move(padded.attention_mask);
  batch.labels = at::tensor(labels, at::kLong);
  return batch;
}

namespace {

// The scale a batch list implies by itself (see LossScale).
template <typename Batch>
LossScale own_scale(const std::vector<Batch>& batches) {
  LossScale scale;
  for (const auto& batch : batches) {
    const bool present = batch.labels.numel() > 0;
    scale.denominators.push_back(present ? loss_denominator(batch.labels, batch.class_weights)
                                         : 0.0);
    if (present) scale.weight_total += batch.weight;
  }
  return scale;
}

// Runs each (task, embeddings) through its head, combines the weighted cross-entropies and
// back-propagates. EMBED maps batch i to its sentence embeddings (or an undefined tensor when
// the batch is empty).
template <typename Batch, typename Embed>
StepLoss heads_loss_backward(MultiTaskModel& model, const std::vector<Batch>& batches,
                             Precision precision, const LossScale* given, Embed embed) {
  const LossScale scale = given ? *given : own_scale(batches);
  if (scale.denominators.size() != batches.size()) {
    throw Error("training step: the loss scale does not match the batches");
  }
  StepLoss result;
  at::Tensor total;
  const auto device = model->device();
  auto autocast = std::make_unique<AutocastScope>(device, precision == Precision::kBf16);
  for (size_t i = 0; i < batches.size(); ++i) {
    const auto& batch = batches[i];
    if (batch.labels.numel() == 0) {
      result.per_task.push_back(0.0);
      continue;
    }
    const at::Tensor logits = model->logits(batch.task, embed(batch)).to(at::kFloat);
    const at::Tensor labels = batch.labels.to(device);
    const c10::optional<at::Tensor> weights =
        batch.class_weights.defined() ? c10::optional<at::Tensor>(batch.class_weights.to(device))
                                      : c10::nullopt;
    const at::Tensor loss =
        at::cross_entropy_loss(logits, labels, weights, at::Reduction::Sum) / scale.denominators[i];
    result.per_task.push_back(loss.item<double>());
    total = total.defined() ? total + batch.weight * loss : batch.weight * loss;
  }
  if (!total.defined()) {
    if (given) return result;  // this rank holds none of the step's rows
    throw Error("training step: every batch is empty");
  }
  auto combined = total / scale.weight_total;
  autocast.reset();
  result.combined = combined.item<double>();
  combined.backward();
  return result;
}

}  // namespace

double loss_denominator(const at::Tensor& labels, const at::Tensor& class_weights) {
  if (!class_weights.defined()) return static_cast<double>(labels.numel());
  return class_weights.to(at::kDouble)
      .index_select(0, labels.to(class_weights.device()))
      .sum()
      .item<double>();
}

StepLoss forward_backward(MultiTaskModel& model, const std::vector<TaskBatch>& batches,
                          Precision precision, const LossScale* scale) {
  // Stack every batch, padded to the longest, for a single encoder pass.
  int64_t longest = 0;
  for (const auto& b : batches) {
    if (b.labels.numel() > 0) longest = std::max(longest, b.input_ids.size(1));
  }
  std::vector<at::Tensor> ids, masks;
  for (const auto& b : batches) {
    if (b.labels.numel() == 0) continue;
    const int64_t extra = longest - b.input_ids.size(1);
    ids.push_back(at::constant_pad_nd(b.input_ids, {0, extra}, static_cast<double>(b.pad_id)));
    masks.push_back(at::constant_pad_nd(b.attention_mask, {0, extra}, 0));
  }
  at::Tensor all;
  if (!ids.empty()) {
    const auto device = model->device();
    AutocastScope autocast(device, precision == Precision::kBf16);
    all = model->embed(at::cat(ids).to(device), at::cat(masks).to(device));
  }
  int64_t offset = 0;
  return heads_loss_backward(model, batches, precision, scale, [&](const TaskBatch& b) {
    const int64_t rows = b.labels.size(0);
    auto part = all.narrow(0, offset, rows);
    offset += rows;
    return part;
  });
}

StepLoss forward_backward(MultiTaskModel& model, const std::vector<CachedBatch>& batches,
                          Precision precision, const LossScale* scale) {
  return heads_loss_backward(model, batches, precision, scale, [&](const CachedBatch& b) {
    return b.embeddings.to(model->device());
  });
}

}  // namespace mtst
