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
#include "mtst/ops/exec_plan.h"
#include "mtst/train/model_evaluation.h"

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

void run_evaluate(const EvaluateArgs& args) {
  EvaluateRequest request;
  request.split = args.split;
  request.data = args.data;
  request.task = args.task;
  request.batch_size = args.batch_size;
  request.max_batch_tokens = args.max_batch_tokens;
  if (request.data.empty() != request.task.empty()) {
    throw Error("--data and --task go together (a labelled file and the task it is for)");
  }
  const ExecOptions exec = apply_exec_options(args.device, args.precision, args.threads);
  const auto predictor = Predictor::load(args.model, exec);
  const auto evaluations = evaluate_model(predictor, request);
  if (args.format == "table") {
    for (const auto& e : evaluations) {
      std::cout << "[" << e.data << "]\n" << evaluation_table(e.evaluation) << "\n";
    }
  }
  const nlohmann::json out = evaluation_report(args.model, evaluations);
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
