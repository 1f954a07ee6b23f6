// The trainer's state, shared by trainer_setup.cpp (building or restoring it) and trainer.cpp
// (the loop, validation and checkpoints). Internal to src/train.
#pragma once

#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mtst/io/tfevents.h"
#include "mtst/model/model_dir.h"
#include "mtst/text/tokenizer.h"
#include "mtst/train/adamw.h"
#include "mtst/train/freeze.h"
#include "mtst/train/lr_schedule.h"
#include "mtst/train/progress.h"
#include "mtst/train/sampler.h"
#include "mtst/train/train_step.h"
#include "mtst/train/trainer.h"
#include "train/gradient_overlap.h"

namespace mtst {

struct TrainTask {
  std::string name;
  double weight = 1.0;
  at::Tensor class_weights;  // undefined: none
  std::vector<std::vector<int64_t>> train_ids;
  std::vector<int64_t> train_labels;
  std::vector<std::string> val_texts;
  std::vector<int64_t> val_labels;
  at::Tensor train_cache, val_cache;  // frozen backbone with the cache: [N,H] embeddings
  double best_val_loss = std::numeric_limits<double>::infinity();
};

// Loss and throughput since the last "train" log line.
struct TrainWindow {
  double loss = 0;
  int64_t steps = 0;
  size_t samples = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void add(size_t step_samples, double step_loss) {
    loss += step_loss;
    ++steps;
    samples += step_samples;
  }
};

struct Trainer::Impl {
  TrainConfig config;
  TrainerOptions options;
  MultiTaskModel model{nullptr};
  c10::Device device = c10::kCPU;  // config.device, resolved
  std::shared_ptr<Tokenizer> tokenizer;
  std::filesystem::path tokenizer_dir;  // tokenizer files copied into every checkpoint
  ModelDirInfo info;
  std::vector<TrainTask> tasks;
  bool backbone_frozen = false;
  bool cached = false;  // heads train on cached embeddings
  double cache_seconds = 0;

  std::unique_ptr<MultiTaskSampler> sampler;
  std::unique_ptr<FusedAdamW> optimizer;
  std::vector<double> base_lrs;  // per optimizer parameter group
  std::unique_ptr<LrSchedule> schedule;
  int64_t step = 0, total_steps = 0, eval_interval = 0;

  // early stopping
  double best_monitor = std::numeric_limits<double>::quiet_NaN();
  int64_t evals_without_improvement = 0;
  bool stopped = false;

  // data parallel (see TrainerOptions::communicator)
  Communicator* comm = nullptr;              // null or world size 1: one process
  bool writes = false;                       // this process writes output_dir (rank 0 of a job)
  std::vector<at::Tensor> trainable;         // what the optimizer updates, in its order
  std::unique_ptr<GradientOverlap> overlap;  // null: gradients summed after backward
  int64_t word_embeddings = -1;              // its index in trainable; -1: not trained
  int64_t overlapped_steps = 0, overlapped_bytes = 0;
  bool distributed() const { return comm != nullptr && comm->world_size() > 1; }
  int rank() const { return comm ? comm->rank() : 0; }
  int world_size() const { return comm ? comm->world_size() : 1; }

  std::vector<double> losses;
  std::unique_ptr<TfEventsWriter> events;

  // trainer_setup.cpp
  void load_data();
  void build_model();
  void restore_model(const std::filesystem::path& last_dir);
  void build_optimizer();
  void build_overlap(const TrainableParameters& params);
  void build_cache();
  void restore_state(const std::filesystem::path& last_dir);
  void prepare_output_dir();

  // trainer.cpp
  double lr_factor() const;
  size_t train_step();
  std::vector<bool> owners_with_rows(const std::vector<std::vector<size_t>>& rows) const;
  std::map<size_t, at::Tensor> rows_looked_up(const std::vector<std::vector<size_t>>& plan) const;
  void synchronize(StepLoss& loss, bool overlapped, const std::vector<bool>& owners_anywhere);
  at::Tensor embed_texts(const std::vector<std::string>& texts) const;
  at::Tensor embed_ids(const std::vector<std::vector<int64_t>>& ids) const;
  void broadcast_parameters();
  std::vector<TaskEvaluation> validate();
  void save_checkpoint(const std::string& name, bool with_state);
  nlohmann::json state_json() const;

  // The steps of Trainer::run (trainer.cpp): log, validate, early-stop.
  struct ValidationSummary {
    double combined = 0;   // task-weighted validation loss
    double monitored = 0;  // the early-stopping monitor's value
    std::string report;    // the line printed under the progress bar
    nlohmann::json line;   // the "eval" line of metrics.jsonl
  };
  void log_train(TrainWindow& window, double lr_factor);
  // Per-task figures into the report, TensorBoard and best-<task>/ checkpoints.
  ValidationSummary summarize(const std::vector<TaskEvaluation>& evals);
  // Counts an evaluation against the patience; true when training must stop now.
  bool early_stop(double monitored, std::string& report);
  void validate_and_log(ProgressBar& progress, TrainResult& result);
  bool interrupt_requested() const;
};

}  // namespace mtst
