// The training configuration: one struct parsed from JSON and validated once (errors name the
// file, the key and what was expected), serialisable back to JSON (saved inside every
// checkpoint), plus "--set key=value" overrides applied to the raw JSON before validation.
// It does not check that data or model files exist: the loaders do that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/model/classifier_head.h"
#include "mtst/model/pooling.h"
#include "mtst/runtime/exec_options.h"
#include "mtst/train/sampler.h"
#include "mtst/train/task_data.h"

namespace mtst {

// JSON layout (every section but "backbone" and "tasks" is optional; absent keys take the
// defaults below; unknown keys anywhere are errors, so typos do not pass silently):
// {
//   "backbone": {"model": "dir"} | {"init": "random", "config": "bert_config.json",
//                                   "tokenizer": "dir (default: the config's directory)"},
//               + optional "pooling": "mean" | ["mean", "max"], "max_seq_length": 128,
//   "tasks": [{"name": "sentiment",
//              "files": {"train": "a.csv", "validation": "b.csv", "test": "c.csv"},
//              "text_column": "text", "label_column": "label",
//              "labels": ["negative", "neutral", "positive"], "skip_bad_rows": true,
//              "head": {"hidden_size": 256, "dropout": 0.1, "activation": "relu"},
//              "loss_weight": 1.0, "class_weights": [1.0, 2.0, 1.0]}],
//   "sampling": {"strategy": "oversample", "temperature": 2.0},
//   "optimizer": {"lr_backbone": 2e-5, "lr_heads": 1e-3, "weight_decay": 0.01, "beta1": 0.9,
//                 "beta2": 0.999, "eps": 1e-8, "grad_clip": 1.0},
//   "schedule": {"type": "linear", "warmup_ratio": 0.1, "warmup_steps": 0},
//   "early_stopping": {"monitor": "val_loss", "patience": 3, "min_delta": 0.0},
//   "training": {"batch_size": 32, "max_epochs": 3, "max_steps": 0, "eval_interval": 0,
//                "seed": 42, "precision": "fp32", "threads": 0, "device": "cpu",
//                "freeze": "none"}
// }
// Relative paths (files, backbone model/config) are resolved against the config file's
// directory and stored absolute, so to_json() output is independent of where it is loaded.

struct TaskConfig {
  std::string name;  // non-empty, unique, without '.' (override paths use dots)
  // "train" (always), "validation", "test": each a TaskDataSpec with an absolute path; the
  // columns, labels and skip_bad_rows are the task's, shared by all its splits.
  std::map<std::string, TaskDataSpec> splits;
  // hidden_size, dropout, activation from the config; input_size and num_classes are filled
  // later from the backbone and the labels.
  HeadConfig head;
  double loss_weight = 1.0;           // > 0
  std::vector<double> class_weights;  // empty = none; else one per label, all > 0
};

struct TrainConfig {
  // Exactly one of: backbone_model_dir (a saved model directory), or backbone_init ("random")
  // with backbone_config (a BERT config.json). Paths are absolute.
  std::string backbone_model_dir;
  std::string backbone_init;
  std::string backbone_config;
  std::string backbone_tokenizer;    // init only: the tokenizer files' directory
  std::vector<PoolingMode> pooling;  // empty = the backbone's own
  size_t max_seq_length = 0;         // 0 = the backbone's
  std::vector<TaskConfig> tasks;     // at least one
  SamplingStrategy sampling = SamplingStrategy::kOversample;
  double sampling_temperature = 2.0;  // > 0
  // optimizer: AdamW
  double lr_backbone = 2e-5, lr_heads = 1e-3;  // > 0
  double weight_decay = 0.01;                  // >= 0
  double beta1 = 0.9, beta2 = 0.999;           // in [0, 1)
  double eps = 1e-8;                           // > 0
  std::string schedule = "linear";             // "linear" | "cosine" | "constant"
  double warmup_ratio = 0.1;                   // in [0, 1); warmup_steps > 0 wins
  int64_t warmup_steps = 0;
  double grad_clip = 1.0;                 // max global grad norm; 0 = off
  size_t batch_size = 32;                 // per task, > 0
  int64_t max_epochs = 3, max_steps = 0;  // max_steps > 0 wins; at least one is > 0
  int64_t eval_interval = 0;              // steps; 0 = once per epoch
  // "val_loss" (lower is better) | "val_accuracy" | "val_macro_f1" (higher is better),
  // averaged over the tasks.
  std::string early_stopping_monitor = "val_loss";
  int64_t patience = 3;  // evaluations without improvement; 0 = off
  double min_delta = 0.0;
  uint64_t seed = 42;
  Precision precision = Precision::kFp32;  // "auto" in JSON is resolved here (see exec_options.h)
  int threads = 0;                         // 0 = physical cores
  // "cpu" | "cuda" | "cuda:N" | "auto", resolved by the trainer (see exec_options.h); the
  // checkpoints it writes are the same on every device.
  std::string device = "cpu";
  // "none" | "backbone" | "all" | "embeddings" | "head:<task>" | "layers:<k>" (k >= 1: the
  // embeddings and the first k encoder layers). Only the syntax and task names are checked
  // here; the trainer refuses combinations it cannot train (e.g. "all").
  std::string freeze = "none";

  // Validates J; relative paths are resolved against BASE_DIR; WHERE (usually the file name)
  // starts every error message.
  static TrainConfig from_json(const nlohmann::json& j, const std::filesystem::path& base_dir,
                               const std::string& where);
  // Reads PATH, applies OVERRIDES ("key=value", see apply_override) in order, validates.
  static TrainConfig from_file(const std::filesystem::path& path,
                               const std::vector<std::string>& overrides = {});
  // Every key written out (defaults included); from_json(to_json()) gives the same config.
  nlohmann::json to_json() const;
};

// Applies one "--set key=value" override to the raw JSON: KEY is a dotted path into objects
// ("optimizer.lr_heads", "tasks.sentiment.head.dropout" where the segment after "tasks"
// picks the task by its "name"); missing objects on the way are created. VALUE is parsed as
// JSON when it parses (numbers, true, null, arrays, quoted strings), else taken as a string.
// A key the layout does not know, an unknown task or a missing '=' is an mtst::Error naming it.
void apply_override(nlohmann::json& config, const std::string& assignment);

}  // namespace mtst
