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
#include "mtst/dist/communicator.h"
#include "mtst/dist/local_launch.h"
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

// The command line each rank of --nproc runs: the same, without --nproc.
std::vector<std::string> rank_args(const TrainArgs& args) {
  std::vector<std::string> out{"train"};
  auto add = [&](const char* flag, const std::string& value) {
    if (!value.empty()) out.insert(out.end(), {flag, value});
  };
  add("--config", args.config);
  add("--output", args.output);
  add("--resume", args.resume);
  add("--device", args.device);
  for (const auto& o : args.overrides) add("--set", o);
  out.insert(out.end(), {"--dist-timeout", std::to_string(args.dist_timeout)});
  if (args.overwrite) out.push_back("--overwrite");
  if (args.quiet) out.push_back("--quiet");
  if (args.no_grad_overlap) out.push_back("--no-grad-overlap");
  out.insert(out.end(), {"--grad-bucket-mb", std::to_string(args.grad_bucket_mb)});
  return out;
}

// Threads per rank when the config says 0 (all cores): the host's cores shared by its ranks.
int rank_threads(int configured, const DistEnv& env) {
  if (configured != 0 || !env.distributed()) return configured;
  const char* local = std::getenv("LOCAL_WORLD_SIZE");
  const int ranks_here = local ? std::max(1, std::atoi(local)) : 1;
  return std::max(1, physical_cores() / ranks_here);
}

void train(const TrainArgs& args, const DistEnv& env, Communicator* communicator);

void run_train(const TrainArgs& args) {
  const auto env = DistEnv::from_environment();
  if (args.nproc > 0) {
    if (env.distributed()) throw Error("--nproc starts its own ranks: drop it under torchrun");
    if (const int code = launch_local_ranks(args.nproc, rank_args(args)); code != 0) {
      std::exit(code);  // the launcher has said which rank failed
    }
    return;
  }
  if (!(args.dist_timeout > 0)) throw Error("--dist-timeout must be > 0 seconds");
  if (!env.distributed()) return train(args, env, nullptr);
  auto communicator = std::make_unique<Communicator>(
      env, std::chrono::milliseconds(static_cast<int64_t>(args.dist_timeout * 1000)));
  try {
    train(args, env, communicator.get());
  } catch (const std::exception& e) {
    // A rank of a failed job leaves at once, its one line written: c10d's threads (Gloo's, the
    // store's) may still wait on a silent peer, and the destructors of the process group and
    // of libtorch at exit would wait with them. Checkpoints are whole already (atomic).
    const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
    std::cerr << (ours ? "mtst: error: " : "mtst: internal error: ") << e.what() << std::endl;
    std::_Exit(1);
  }
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
    // Rank 0 recovers interrupted checkpoint writes before any rank reads last/.
    if (env.rank == 0) config = Trainer::resume_config(run, overrides);
    if (communicator) communicator->barrier("resume (checkpoint recovery on rank 0)");
    if (env.rank != 0) config = Trainer::resume_config(run, overrides);
    options.output_dir = run;
    options.resume = true;
  } else {
    if (args.config.empty()) throw Error("train: give --config FILE (or --resume RUN_DIR)");
    config = TrainConfig::from_file(args.config, overrides);
    options.output_dir = args.output.empty() ? fs::path("runs") / fs::path(args.config).stem()
                                             : fs::path(args.output);
  }
  if (env.distributed() && parse_device(config.device).is_cuda()) {
    throw Error(
        "distributed training runs on CPU ranks (Gloo) for now; NCCL for CUDA ranks is "
        "not built yet: use --device cpu");
  }
  apply_threads(rank_threads(config.threads, env));
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
