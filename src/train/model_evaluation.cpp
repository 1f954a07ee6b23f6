// evaluate_model: per task, load the labelled data, run encoder + head, count the confusion.
#include "mtst/train/model_evaluation.h"

#include <iostream>

#include "mtst/error.h"
#include "mtst/train/task_data.h"

namespace mtst {

namespace {

// The data spec of TASK in the model's training config (columns, labels, split files); without
// a saved config, the default columns and the model's label names.
TaskDataSpec spec_for(const ModelDirInfo& info, const TaskInfo& task, const std::string& split) {
  TaskDataSpec spec;
  spec.labels = task.labels;
  if (info.training_config.is_object()) {
    for (const auto& t : info.training_config.at("tasks")) {
      if (t.at("name") != task.name) continue;
      spec.text_column = t.value("text_column", spec.text_column);
      spec.label_column = t.value("label_column", spec.label_column);
      spec.skip_bad_rows = t.value("skip_bad_rows", true);
      if (!split.empty() && t.at("files").contains(split)) {
        spec.path = t.at("files").at(split).get<std::string>();
      }
    }
  }
  return spec;
}

ModelTaskEvaluation evaluate_task(const Predictor& predictor, size_t t,
                                  const EvaluateRequest& request) {
  const auto& task = predictor.info().tasks[t];
  auto spec = spec_for(predictor.info(), task, request.data.empty() ? request.split : "");
  if (!request.data.empty()) spec.path = request.data;
  if (spec.path.empty()) {
    throw Error("task " + task.name + ": the model's training config names no '" + request.split +
                "' file; pass --data FILE --task " + task.name);
  }
  const auto data = load_task_data(spec);
  if (data.skipped > 0) {
    std::cerr << "mtst: " << spec.path << ": " << data.skipped
              << " bad rows skipped (first: " << data.skip_reasons[0] << ")\n";
  }
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  for (const auto& ex : data.examples) {
    texts.push_back(ex.text);
    labels.push_back(ex.label);
  }
  const auto inputs = predictor.head_inputs(texts, request.batch_size, request.max_batch_tokens);
  const auto logits = predictor.logits(inputs)[t];
  TaskEvaluation e{task.name, task.labels, 0.0, ConfusionMatrix(task.labels.size())};
  if (!labels.empty()) {
    const auto target = at::tensor(labels, at::kLong);
    e.loss = at::cross_entropy_loss(logits, target).item<double>();
    const auto predicted = logits.argmax(1).contiguous();
    for (size_t i = 0; i < labels.size(); ++i) {
      e.matrix.add(labels[i], predicted.data_ptr<int64_t>()[i]);
    }
  }
  return {std::move(e), spec.path, data.skipped};
}

}  // namespace

std::vector<ModelTaskEvaluation> evaluate_model(const Predictor& predictor,
                                                const EvaluateRequest& request) {
  if (request.data.empty() != request.task.empty()) {
    throw Error("--data and --task go together (a labelled file and the task it is for)");
  }
  const auto& tasks = predictor.info().tasks;
  std::vector<ModelTaskEvaluation> out;
  for (size_t t = 0; t < tasks.size(); ++t) {
    if (request.task.empty() || tasks[t].name == request.task) {
      out.push_back(evaluate_task(predictor, t, request));
    }
  }
  if (out.empty()) throw Error("the model has no task named '" + request.task + "'");
  return out;
}

nlohmann::json evaluation_report(const std::string& model,
                                 const std::vector<ModelTaskEvaluation>& evaluations) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& e : evaluations) {
    auto j = evaluation_json(e.evaluation);
    j["data"] = e.data;
    j["skipped_rows"] = e.skipped_rows;
    tasks.push_back(j);
  }
  return {{"model", model}, {"tasks", tasks}};
}

}  // namespace mtst
