// Scoring a task's head on sentence embeddings: mean cross-entropy, predictions and the
// confusion matrix, plus the table and JSON forms that `mtst evaluate` and the trainer print.
// Shapes: N examples, H embedding size, C classes.
#pragma once

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/model/multitask_model.h"
#include "mtst/train/metrics.h"

namespace mtst {

struct TaskEvaluation {
  std::string task;
  std::vector<std::string> labels;
  double loss = 0;  // mean cross-entropy (no class weights)
  ConfusionMatrix matrix;
};

// Runs TASK's head on EMBEDDINGS [N,H] in eval mode without gradients (the module's training
// flag is restored afterwards). LABELS are class ids in [0, C).
TaskEvaluation evaluate_head(MultiTaskModel& model, const std::string& task,
                             const std::vector<std::string>& label_names,
                             const at::Tensor& embeddings, const std::vector<int64_t>& labels);

// {"task", "examples", "loss", "accuracy", "macro_f1", "per_class": {label: {precision, recall,
//  f1, support}}, "confusion_matrix": {"labels": [...], "rows": [[...]]}} (rows = true class).
nlohmann::json evaluation_json(const TaskEvaluation& e);

// A human-readable report: the headline numbers, the per-class table and the confusion matrix.
std::string evaluation_table(const TaskEvaluation& e);

}  // namespace mtst
