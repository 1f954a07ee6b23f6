// The multi-task training loop: sample a batch per task, forward, weighted loss, backward,
// clip, AdamW with warmup + decay, validation every interval, early stopping, checkpoints
// (best-<task>, last with resume state, final), TensorBoard scalars and metrics.jsonl.
// Deterministic on CPU for a seed and thread count: dropout is reseeded from (seed, step), so a
// run resumed from last/ continues the uninterrupted run's loss curve exactly. Data-parallel on
// many ranks through TrainerOptions::communicator (docs/distributed.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/distributed/communicator.h"
#include "mtst/model/multitask_model.h"
#include "mtst/train/evaluation.h"
#include "mtst/train/train_config.h"

namespace mtst {

struct TrainerOptions {
  std::filesystem::path output_dir;  // empty: nothing is written (benchmarks)
  bool resume = false;               // continue from output_dir/last
  bool overwrite = false;            // replace a previous run's outputs in output_dir
  bool progress = true;              // progress line on stderr
  bool cache_embeddings = true;      // backbone frozen: encode each dataset once
  size_t max_train_examples = 0;     // > 0: only the first N training examples of each task
  // > 0: stop after this many steps as an interruption would (last/ is saved, final/ is not);
  // a later run with resume continues from there.
  int64_t interrupt_after_steps = 0;
  // Asked after every step (may be empty): true stops the run as an interruption does (the
  // Python package's Ctrl-C). One process only: ranks of a job would not stop together.
  std::function<bool()> stop_requested;
  // One rank of a data-parallel job (not owned; null: one process). Every rank runs the same
  // global sequence of steps and takes its shard of each step's batches; gradients are summed
  // over ranks, so the model follows the one-process run with the same batch size. Rank 0 alone
  // writes output_dir (checkpoints, TensorBoard, metrics) and shows progress.
  Communicator* communicator = nullptr;
  // In a job: start each bucket's all-reduce during backward as its gradients arrive; false:
  // sum every gradient after backward (the reference path, gradient_sync.h).
  bool overlap_gradients = true;
  // In a job: the most gradient bytes one all-reduce carries (DDP's bucket_cap_mb).
  int64_t gradient_bucket_bytes = 25 << 20;
};

struct TrainResult {
  int64_t steps = 0;
  bool early_stopped = false;
  bool interrupted = false;        // stopped before the end: last/ saved, final/ not
  double seconds = 0;              // this invocation's wall time
  int64_t steps_run = 0;           // this invocation's steps
  int64_t overlapped_steps = 0;    // of those, steps whose gradient sums began during backward
  int64_t overlapped_bytes = 0;    // the gradient bytes those steps all-reduced
  nlohmann::json last_validation;  // per task evaluation_json, or null without validation
};

// Interrupted checkpoint writes leave hidden `.<name>.tmp-*` / `.<name>.old-*` entries in a run
// directory (see atomic_directory.h): the checkpoint each belongs to is recovered, and what was
// done is said on stderr. Trainer and resume_config call it first.
void recover_checkpoints(const std::filesystem::path& run_dir);

// The run directory a resume argument names: RUN_DIR itself, or RUN_DIR/last.
std::filesystem::path resume_run_dir(const std::filesystem::path& resume);

class Trainer {
 public:
  // Loads data, builds (or, with resume, restores) the model, optimizer and sampler. Throws
  // mtst::Error for anything it cannot train (freeze "all", missing files, an existing run in
  // output_dir without resume/overwrite, ...).
  Trainer(const TrainConfig& config, const TrainerOptions& options);
  ~Trainer();

  // Trains to max_steps / max_epochs or an early stop, validating, logging and checkpointing.
  TrainResult run();
  // For benchmarks and tests: N more steps without validation, logs or checkpoints. Returns the
  // number of samples (sentences, all tasks) processed.
  size_t run_steps(int64_t n);

  int64_t step() const;
  int64_t total_steps() const;
  int64_t steps_per_epoch() const;
  // Combined training loss of every step run by this object, in order.
  const std::vector<double>& loss_history() const;
  // Seconds spent encoding datasets into the frozen-backbone cache (0 without it).
  double cache_seconds() const;
  // Validation of every task that has a validation split, with the current weights.
  std::vector<TaskEvaluation> validate();
  MultiTaskModel& model();

  // The config stored in RUN_DIR/last (with OVERRIDES applied), for `mtst train --resume`.
  // With COMMUNICATOR (a rank of a job), rank 0 recovers interrupted checkpoint writes before
  // any other rank reads last/.
  static TrainConfig resume_config(const std::filesystem::path& run_dir,
                                   const std::vector<std::string>& overrides,
                                   Communicator* communicator = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mtst
