// `mtst train`: trains a multi-task model from a JSON config (or resumes a run) and prints the
// last validation results. Everything it writes lives under --output (see trainer.h).
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "mtst/error.h"
#include "mtst/train/trainer.h"

namespace mtst::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::string output;
  std::string resume;
  std::vector<std::string> overrides;
  std::string device;  // empty: the config's
  bool overwrite = false;
  bool quiet = false;
};

void run_train(const TrainArgs& args) {
  namespace fs = std::filesystem;
  TrainerOptions options;
  options.progress = !args.quiet;
  options.overwrite = args.overwrite;
  TrainConfig config;
  auto overrides = args.overrides;
  if (!args.device.empty()) overrides.push_back("training.device=\"" + args.device + "\"");
  if (!args.resume.empty()) {
    // --resume RUN_DIR or RUN_DIR/last.
    fs::path run = args.resume;
    if (run.filename() == "last" ||
        (run.filename().empty() && run.parent_path().filename() == "last")) {
      run = fs::path(args.resume).lexically_normal().parent_path();
      if (run.filename() == "last") run = run.parent_path();
    }
    if (!args.config.empty()) {
      throw Error("--resume continues the saved run's config; change it with --set, not --config");
    }
    if (!args.output.empty() && fs::path(args.output) != run) {
      throw Error("--resume writes into the run's own directory; drop --output");
    }
    config = Trainer::resume_config(run, overrides);
    options.output_dir = run;
    options.resume = true;
  } else {
    if (args.config.empty()) throw Error("train: give --config FILE (or --resume RUN_DIR)");
    config = TrainConfig::from_file(args.config, overrides);
    options.output_dir = args.output.empty() ? fs::path("runs") / fs::path(args.config).stem()
                                             : fs::path(args.output);
  }
  apply_threads(config.threads);
  Trainer trainer(config, options);
  const auto result = trainer.run();
  std::cerr << "trained " << result.steps << " steps in " << result.seconds << " s"
            << (result.early_stopped ? " (early stop)" : "")
            << "; model: " << (options.output_dir / "final").string() << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a multi-task model from a JSON config");
  cmd->add_option("--config", args->config, "Training config (see configs/quickstart.json)");
  cmd->add_option("--output", args->output, "Run directory (default: runs/<config name>)");
  cmd->add_option("--resume", args->resume, "Continue the run in this directory (or its last/)");
  cmd->add_option("--set", args->overrides,
                  "Override a config key, e.g. --set optimizer.lr_heads=5e-4 (repeatable)");
  cmd->add_option("--device", args->device,
                  "cpu | cuda | cuda:N | auto (default: the config's training.device, cpu)");
  cmd->add_flag("--overwrite", args->overwrite, "Replace a previous run in the output directory");
  cmd->add_flag("--quiet", args->quiet, "No progress line");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace mtst::cli
