// The multi-task model directory that training writes and predict / evaluate / serve read:
//   modules.json, sentence_bert_config.json, 1_Pooling/config.json, config.json,
//   model.safetensors, tokenizer files   -- the backbone in sentence-transformers layout
//   heads/<task>/config.json + model.safetensors ("0.*", "2.*" as torch.nn.Sequential)
//   mtst.json                              -- tasks, label names, pooling, training config
// Directories are written atomically: into a temporary sibling, then renamed into place.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mtst/io/tensor_map.h"
#include "mtst/model/multitask_model.h"
#include "mtst/text/tokenizer.h"

namespace mtst {

struct TaskInfo {
  std::string name;
  std::vector<std::string> labels;  // index = class id
  HeadConfig head;
};

struct ModelDirInfo {
  std::vector<TaskInfo> tasks;
  std::vector<PoolingMode> pooling;  // what the heads read, in sentence-transformers order
  size_t max_seq_length = 0;
  bool normalize = false;          // a Normalize module for plain embeddings (heads never see it)
  nlohmann::json training_config;  // TrainConfig::to_json() of the run, or null
  TensorMap pooler;                // pooler.dense.* carried unused (see pooler_weights)
};

// Writes the complete directory DIR (replacing an existing one). TOKENIZER_DIR supplies the
// tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json;
// those that exist). EXTRA, when set, may add files to the temporary directory before it
// replaces DIR (the trainer's resume state). The replacement is atomic (atomic_directory.h):
// DIR is the complete old or the complete new directory at every instant. Throws mtst::Error
// naming the path on failure; the old DIR is then left as it was.
void save_model_dir(const std::filesystem::path& dir, MultiTaskModel& model,
                    const std::filesystem::path& tokenizer_dir, const ModelDirInfo& info,
                    const std::function<void(const std::filesystem::path&)>& extra = {});

// Reads mtst.json (and checks every head directory exists). Throws mtst::Error naming the file
// for a directory that is not an mtst model.
ModelDirInfo read_model_dir_info(const std::filesystem::path& dir);

// The saved model as trainable modules (for resuming and fine-tuning further).
struct LoadedModel {
  MultiTaskModel model{nullptr};
  std::shared_ptr<Tokenizer> tokenizer;
  ModelDirInfo info;
};
LoadedModel load_model_dir(const std::filesystem::path& dir);

// Loads heads/<task>/ of DIR into HEAD (shapes must match).
void load_head(const std::filesystem::path& dir, const TaskInfo& task, ClassifierHead& head);

}  // namespace mtst
