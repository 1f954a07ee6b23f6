// Evaluating a saved multi-task model directory on labelled data: a split named in its
// training config, or any labelled file for one task. What `mtst evaluate` and the Python
// package's mtst.evaluate compute; they differ only in how they show it.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/model/predictor.h"
#include "mtst/train/evaluation.h"

namespace mtst {

struct EvaluateRequest {
  std::string split = "test";  // a split of the model's training config (when data is empty)
  std::string data;            // a labelled .csv/.jsonl file instead (needs task)
  std::string task;            // empty: every task
  size_t batch_size = 64;
  size_t max_batch_tokens = 0;
};

struct ModelTaskEvaluation {
  TaskEvaluation evaluation;
  std::string data;         // the file evaluated
  size_t skipped_rows = 0;  // bad rows left out (said on stderr)
};

// One evaluation per chosen task, in the model's task order. Throws mtst::Error for a request
// it cannot answer (no such task, no such split, data without task, unreadable files).
std::vector<ModelTaskEvaluation> evaluate_model(const Predictor& predictor,
                                                const EvaluateRequest& request);

// {"model": MODEL, "tasks": [evaluation_json + "data" + "skipped_rows", ...]}: the report
// `mtst evaluate --format json` prints.
nlohmann::json evaluation_report(const std::string& model,
                                 const std::vector<ModelTaskEvaluation>& evaluations);

}  // namespace mtst
