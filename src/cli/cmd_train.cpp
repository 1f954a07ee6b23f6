// `mtst train`: trains a multi-task model from a JSON config (or resumes a run) and prints the
// last validation results. Everything it writes lives under --output (see trainer.h). Run
// under torchrun (or with --nproc N) it is one rank of a data-parallel job (docs/distributed.md).
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "mtst/distributed/communicator.h"
#include "mtst/distributed/local_launch.h"
#include "mtst/distributed/rank_process.h"
#include "mtst/error.h"
#include "mtst/runtime/exec_options.h"
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
  int nproc = 0;              // > 0: start this many local ranks
  double dist_timeout = 300;  // seconds: rendezvous and every collective
  bool no_grad_overlap = false;
  double grad_bucket_mb = 25;
};

void train(const TrainArgs& args, const DistEnv& env, Communicator* communicator);

void run_train(const TrainArgs& args) {
  const auto env = DistEnv::from_environment();
  if (args.nproc > 0) {
    if (env.distributed()) throw Error("--nproc starts its own ranks: drop it under torchrun");
    // Each rank runs this command line as it is, less --nproc.
    const int code = launch_local_ranks(args.nproc, own_arguments_without("--nproc"));
    if (code != 0) std::exit(code);  // the launcher has said which rank failed
    return;
  }
  if (!(args.dist_timeout > 0)) throw Error("--dist-timeout must be > 0 seconds");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(args.dist_timeout * 1000));
  run_as_rank(env, timeout, [&](Communicator* communicator) { train(args, env, communicator); });
}

void train(const TrainArgs& args, const DistEnv& env, Communicator* communicator) {
  namespace fs = std::filesystem;
  TrainerOptions options;
  options.communicator = communicator;
  options.progress = !args.quiet;
  options.overwrite = args.overwrite;
  options.overlap_gradients = !args.no_grad_overlap;
  options.gradient_bucket_bytes = static_cast<int64_t>(args.grad_bucket_mb * (1 << 20));
  TrainConfig config;
  auto overrides = args.overrides;
  if (!args.device.empty()) overrides.push_back("training.device=\"" + args.device + "\"");
  if (!args.resume.empty()) {
    const fs::path run = resume_run_dir(args.resume);  // RUN_DIR or RUN_DIR/last
    if (!args.config.empty()) {
      throw Error("--resume continues the saved run's config; change it with --set, not --config");
    }
    if (!args.output.empty() && fs::path(args.output) != run) {
      throw Error("--resume writes into the run's own directory; drop --output");
    }
    config = Trainer::resume_config(run, overrides, communicator);
    options.output_dir = run;
    options.resume = true;
  } else {
    if (args.config.empty()) throw Error("train: give --config FILE (or --resume RUN_DIR)");
    config = TrainConfig::from_file(args.config, overrides);
    options.output_dir = args.output.empty() ? fs::path("runs") / fs::path(args.config).stem()
                                             : fs::path(args.output);
  }
  apply_threads(env.threads_per_rank(config.threads, physical_cores()));
  Trainer trainer(config, options);
  const auto result = trainer.run();
  if (env.rank != 0) return;
  std::cerr << "trained " << result.steps << " steps in " << result.seconds << " s"
            << (result.early_stopped ? " (early stop)" : "");
  if (env.distributed()) {
    std::cerr << "; " << env.world_size << " ranks, gradients summed during backward in "
              << result.overlapped_steps << " of " << result.steps_run << " steps";
    if (result.overlapped_steps > 0) {
      const double mb = static_cast<double>(result.overlapped_bytes) / 1e6;
      std::cerr << " (" << std::setprecision(3) << mb / static_cast<double>(result.overlapped_steps)
                << " MB a step)" << std::setprecision(6);
    }
  }
  std::cerr << "; model: " << (options.output_dir / "final").string() << "\n";
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
  cmd->add_option("--nproc", args->nproc,
                  "Start N local ranks of a data-parallel job (as torchrun --nproc-per-node N)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--dist-timeout", args->dist_timeout,
                  "Seconds a rank waits for the others (rendezvous, each collective)");
  cmd->add_flag("--no-grad-overlap", args->no_grad_overlap,
                "In a job, sum the gradients after backward instead of during it");
  cmd->add_option("--grad-bucket-mb", args->grad_bucket_mb,
                  "In a job, the most MiB of gradients one all-reduce carries (default 25)")
      ->check(CLI::Range(0.001, 1024.0));
  cmd->callback([args] { run_train(*args); });
}

}  // namespace mtst::cli
