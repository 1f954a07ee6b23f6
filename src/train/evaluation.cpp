// Head evaluation and its reports (see evaluation.h).
#include "mtst/train/evaluation.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "mtst/error.h"

namespace mtst {

TaskEvaluation evaluate_head(MultiTaskModel& model, const std::string& task,
                             const std::vector<std::string>& label_names,
                             const at::Tensor& embeddings, const std::vector<int64_t>& labels) {
  if (embeddings.size(0) != static_cast<int64_t>(labels.size())) {
    throw Error("evaluate: embeddings and labels differ in count");
  }
  auto head = model->head(task);
  const bool was_training = head->is_training();
  head->eval();
  TaskEvaluation out{task, label_names, 0.0, ConfusionMatrix(label_names.size())};
  {
    at::NoGradGuard no_grad;
    const auto logits = head->forward(embeddings.to(at::kFloat));
    const auto target = at::tensor(labels, at::kLong).to(logits.device());
    if (!labels.empty()) out.loss = at::cross_entropy_loss(logits, target).item<double>();
    const auto predicted = logits.argmax(1).to(at::kCPU).contiguous();
    const auto* p = predicted.data_ptr<int64_t>();
    for (size_t i = 0; i < labels.size(); ++i) out.matrix.add(labels[i], p[i]);
  }
  if (was_training) head->train();
  return out;
}

nlohmann::json evaluation_json(const TaskEvaluation& e) {
  const auto& m = e.matrix;
  nlohmann::json per_class = nlohmann::json::object();
  nlohmann::json rows = nlohmann::json::array();
  for (size_t c = 0; c < m.num_classes(); ++c) {
    per_class[e.labels[c]] = {{"precision", m.precision(c)},
                              {"recall", m.recall(c)},
                              {"f1", m.f1(c)},
                              {"support", m.support(c)}};
    nlohmann::json row = nlohmann::json::array();
    for (size_t p = 0; p < m.num_classes(); ++p) row.push_back(m.count(c, p));
    rows.push_back(row);
  }
  return {{"task", e.task},
          {"examples", m.total()},
          {"loss", e.loss},
          {"accuracy", m.accuracy()},
          {"macro_f1", m.macro_f1()},
          {"per_class", per_class},
          {"confusion_matrix", {{"labels", e.labels}, {"rows", rows}}}};
}

std::string evaluation_table(const TaskEvaluation& e) {
  const auto& m = e.matrix;
  size_t width = 12;
  for (const auto& l : e.labels) width = std::max(width, l.size() + 2);
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%s: %zu examples  accuracy %.4f  macro-F1 %.4f  loss %.4f\n",
                e.task.c_str(), m.total(), m.accuracy(), m.macro_f1(), e.loss);
  out << line;
  std::snprintf(line, sizeof line, "  %-*s %9s %9s %9s %9s\n", static_cast<int>(width), "class",
                "precision", "recall", "f1", "support");
  out << line;
  for (size_t c = 0; c < m.num_classes(); ++c) {
    std::snprintf(line, sizeof line, "  %-*s %9.4f %9.4f %9.4f %9zu\n", static_cast<int>(width),
                  e.labels[c].c_str(), m.precision(c), m.recall(c), m.f1(c), m.support(c));
    out << line;
  }
  out << "  confusion matrix (rows = true, columns = predicted):\n";
  std::snprintf(line, sizeof line, "  %-*s", static_cast<int>(width), "");
  out << line;
  for (const auto& l : e.labels) {
    std::snprintf(line, sizeof line, " %*s", static_cast<int>(width), l.c_str());
    out << line;
  }
  out << "\n";
  for (size_t c = 0; c < m.num_classes(); ++c) {
    std::snprintf(line, sizeof line, "  %-*s", static_cast<int>(width), e.labels[c].c_str());
    out << line;
    for (size_t p = 0; p < m.num_classes(); ++p) {
      std::snprintf(line, sizeof line, " %*zu", static_cast<int>(width), m.count(c, p));
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace mtst
