// `mtst evaluate`: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix
// of a trained model on a split named in its training config, or on any labelled file for
// one task. Prints a table (or JSON) and can write the JSON report atomically.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/batch_options.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/precision_option.h"
#include "mtst/error.h"
#include "mtst/io/atomic_file.h"
#include "mtst/model/predictor.h"
#include "mtst/train/evaluation.h"
#include "mtst/train/task_data.h"
#include "mtst/train/train_config.h"

namespace mtst::cli {

namespace {

struct EvaluateArgs {
  std::string model;
  std::string split = "test";
  std::string data;
  std::string task;
  std::string format = "table";
  std::string output;
  size_t batch_size = 64;
  size_t max_batch_tokens = 0;
  std::string precision = "fp32";
  std::string device = "cpu";
  int threads = 0;
};

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

void run_evaluate(const EvaluateArgs& args) {
  if (args.data.empty() != args.task.empty()) {
    throw Error("--data and --task go together (a labelled file and the task it is for)");
  }
  const ExecOptions exec = apply_exec_options(args.device, args.precision, args.threads);
  const auto predictor = Predictor::load(args.model, exec);
  const auto& info = predictor.info();
  std::vector<size_t> chosen;
  for (size_t t = 0; t < info.tasks.size(); ++t) {
    if (args.task.empty() || info.tasks[t].name == args.task) chosen.push_back(t);
  }
  if (chosen.empty()) throw Error("the model has no task named '" + args.task + "'");
  nlohmann::json report = nlohmann::json::array();
  for (size_t t : chosen) {
    const auto& task = info.tasks[t];
    auto spec = spec_for(info, task, args.data.empty() ? args.split : "");
    if (!args.data.empty()) spec.path = args.data;
    if (spec.path.empty()) {
      throw Error("task " + task.name + ": the model's training config names no '" + args.split +
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
    const auto inputs = predictor.head_inputs(texts, args.batch_size, args.max_batch_tokens);
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
    auto j = evaluation_json(e);
    j["data"] = spec.path;
    j["skipped_rows"] = data.skipped;
    report.push_back(j);
    if (args.format == "table")
      std::cout << "[" << spec.path << "]\n" << evaluation_table(e) << "\n";
  }
  const nlohmann::json out = {{"model", args.model}, {"tasks", report}};
  if (args.format == "json") std::cout << out.dump(2) << std::endl;
  if (!args.output.empty()) write_file_atomic(args.output, out.dump(2) + "\n");
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand("evaluate", "Accuracy, macro-F1 and confusion matrices");
  cmd->add_option("--model", args->model, "Model directory written by mtst train")->required();
  cmd->add_option("--split", args->split, "Split named in the training config")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  cmd->add_option("--data", args->data, "A labelled .csv/.jsonl file instead (needs --task)");
  cmd->add_option("--task", args->task, "The task --data is labelled for");
  cmd->add_option("--format", args->format, "table | json (stdout)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--output", args->output, "Also write the JSON report to this file");
  add_batch_options(cmd, args->batch_size, args->max_batch_tokens);
  add_precision_option(cmd, args->precision);
  add_device_option(cmd, args->device);
  cmd->add_option("--threads", args->threads, "CPU threads (0 = physical cores)");
  cmd->callback([args] { run_evaluate(*args); });
}

}  // namespace mtst::cli
