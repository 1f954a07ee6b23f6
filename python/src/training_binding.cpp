// mtst._mtst.train and mtst._mtst.evaluate: the trainer and the evaluator of the CLI, called
// in-process with the GIL released. Ctrl-C during training stops after the current step as an
// interruption does (last/ saved and resumable, final/ not written), then raises
// KeyboardInterrupt.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bindings.h"
#include "mtst/error.h"
#include "mtst/model/predictor.h"
#include "mtst/ops/exec_plan.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/train/model_evaluation.h"
#include "mtst/train/trainer.h"

namespace mtst::python {

namespace {

namespace fs = std::filesystem;

// Asked by the trainer after each step: takes the GIL to run Python's pending signal handlers
// (only the main thread has any). A KeyboardInterrupt is kept to be raised after the run.
struct InterruptWatch {
  std::unique_ptr<nb::python_error> error;  // what a handler raised (fetched, to raise later)
  bool operator()() {
    nb::gil_scoped_acquire gil;
    if (!error && PyErr_CheckSignals() != 0) error = std::make_unique<nb::python_error>();
    return error != nullptr;
  }
};

// CONFIG_JSON: the config itself (a dict's JSON, paths relative to BASE_DIR) or empty with
// CONFIG_PATH; RESUME: a run directory to continue (then neither config is given).
std::string train(const std::string& config_path, const std::string& config_json,
                  const std::string& base_dir, const std::string& output,
                  const std::vector<std::string>& overrides, const std::string& resume,
                  bool progress, bool overwrite) {
  InterruptWatch watch;
  std::string result_json;
  {
    nb::gil_scoped_release release;
    TrainerOptions options;
    options.progress = progress;
    options.overwrite = overwrite;
    options.stop_requested = [&watch] { return watch(); };
    TrainConfig config;
    if (!resume.empty()) {
      const fs::path run = resume_run_dir(resume);
      if (!output.empty() && fs::path(output) != run) {
        throw Error("resume writes into the run's own directory; drop output");
      }
      config = Trainer::resume_config(run, overrides);
      options.output_dir = run;
      options.resume = true;
    } else if (!config_json.empty()) {
      auto j = nlohmann::json::parse(config_json);
      for (const auto& o : overrides) apply_override(j, o);
      config = TrainConfig::from_json(j, base_dir, "config");
      options.output_dir = output;
    } else {
      config = TrainConfig::from_file(config_path, overrides);
      options.output_dir = output;
    }
    apply_threads(config.threads);
    Trainer trainer(config, options);
    const auto result = trainer.run();
    result_json = nlohmann::json{{"run_dir", options.output_dir.string()},
                                 {"steps", result.steps},
                                 {"early_stopped", result.early_stopped},
                                 {"interrupted", result.interrupted},
                                 {"seconds", result.seconds},
                                 {"last_validation", result.last_validation}}
                      .dump();
  }
  if (watch.error) throw nb::python_error(*watch.error);
  return result_json;
}

std::string evaluate(const std::string& model_dir, const std::string& split,
                     const std::string& data, const std::string& task, size_t batch_size,
                     const std::string& device, const std::string& precision, int threads) {
  nb::gil_scoped_release release;
  EvaluateRequest request;
  request.split = split;
  request.data = data;
  request.task = task;
  request.batch_size = batch_size;
  const ExecOptions exec = apply_exec_options(device, precision, threads);
  const auto predictor = Predictor::load(model_dir, exec);
  return evaluation_report(model_dir, evaluate_model(predictor, request)).dump();
}

}  // namespace

void bind_training(nb::module_& m) {
  m.def("train", &train, nb::arg("config_path"), nb::arg("config_json"), nb::arg("base_dir"),
        nb::arg("output"), nb::arg("overrides"), nb::arg("resume"), nb::arg("progress"),
        nb::arg("overwrite"));
  m.def("evaluate", &evaluate, nb::arg("model_dir"), nb::arg("split"), nb::arg("data"),
        nb::arg("task"), nb::arg("batch_size"), nb::arg("device"), nb::arg("precision"),
        nb::arg("threads"));
}

}  // namespace mtst::python
