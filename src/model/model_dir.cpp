// Saving and loading the multi-task model directory (see model_dir.h).
#include "mtst/model/model_dir.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "mtst/error.h"
#include "mtst/io/atomic_directory.h"
#include "mtst/io/atomic_file.h"
#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/model/weights.h"

namespace mtst {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTokenizerFiles[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json"};

void write_json(const fs::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

nlohmann::json head_json(const TaskInfo& task) {
  return {{"input_size", task.head.input_size},   {"hidden_size", task.head.hidden_size},
          {"num_classes", task.head.num_classes}, {"dropout", task.head.dropout},
          {"activation", task.head.activation},   {"labels", task.labels}};
}

TensorMap parameters_of(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value().detach();
  return out;
}

void write_sentence_transformers_files(const fs::path& tmp, const ModelDirInfo& info,
                                       int64_t hidden) {
  nlohmann::json modules =
      nlohmann::json::array({{{"idx", 0},
                              {"name", "0"},
                              {"path", ""},
                              {"type", "sentence_transformers.models.Transformer"}},
                             {{"idx", 1},
                              {"name", "1"},
                              {"path", "1_Pooling"},
                              {"type", "sentence_transformers.models.Pooling"}}});
  if (info.normalize) {
    modules.push_back({{"idx", 2},
                       {"name", "2"},
                       {"path", "2_Normalize"},
                       {"type", "sentence_transformers.models.Normalize"}});
    fs::create_directories(tmp / "2_Normalize");
  }
  write_json(tmp / "modules.json", modules);
  write_json(tmp / "sentence_bert_config.json",
             {{"max_seq_length", info.max_seq_length}, {"do_lower_case", false}});
  auto has = [&](PoolingMode m) {
    return std::find(info.pooling.begin(), info.pooling.end(), m) != info.pooling.end();
  };
  fs::create_directories(tmp / "1_Pooling");
  write_json(tmp / "1_Pooling" / "config.json",
             {{"word_embedding_dimension", hidden},
              {"pooling_mode_cls_token", has(PoolingMode::kCls)},
              {"pooling_mode_mean_tokens", has(PoolingMode::kMean)},
              {"pooling_mode_max_tokens", has(PoolingMode::kMax)},
              {"pooling_mode_mean_sqrt_len_tokens", has(PoolingMode::kMeanSqrtLen)}});
}

void write_contents(const fs::path& tmp, MultiTaskModel& model, const fs::path& tokenizer_dir,
                    const ModelDirInfo& info) {
  const auto& config = model->bert->config();
  write_sentence_transformers_files(tmp, info, config.hidden_size);
  write_json(tmp / "config.json", config.to_json());
  // transformers refuses safetensors files without format metadata.
  auto backbone = parameters_of(*model->bert);
  backbone.insert(info.pooler.begin(), info.pooler.end());
  write_safetensors(tmp / "model.safetensors", backbone, {{"format", "pt"}});
  for (const char* name : kTokenizerFiles) {
    if (fs::exists(tokenizer_dir / name)) fs::copy_file(tokenizer_dir / name, tmp / name);
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& task : info.tasks) {
    const auto head_dir = tmp / "heads" / task.name;
    fs::create_directories(head_dir);
    write_json(head_dir / "config.json", head_json(task));
    write_safetensors(head_dir / "model.safetensors", parameters_of(*model->head(task.name)),
                      {{"format", "pt"}});
    tasks.push_back({{"name", task.name}, {"labels", task.labels}, {"head", head_json(task)}});
  }
  nlohmann::json pooling = nlohmann::json::array();
  for (auto mode : info.pooling) pooling.push_back(pooling_mode_name(mode));
  write_json(tmp / "mtst.json", {{"format", "mtst-multitask"},
                                 {"format_version", 1},
                                 {"mtst_version", MTST_VERSION},
                                 {"pooling", pooling},
                                 {"max_seq_length", info.max_seq_length},
                                 {"normalize", info.normalize},
                                 {"tasks", tasks},
                                 {"training_config", info.training_config}});
}

HeadConfig read_head_config(const nlohmann::json& j, const std::string& where) {
  HeadConfig head;
  head.input_size = json_required<int64_t>(j, "input_size", where);
  head.hidden_size = json_required<int64_t>(j, "hidden_size", where);
  head.num_classes = json_required<int64_t>(j, "num_classes", where);
  head.dropout = json_required<double>(j, "dropout", where);
  head.activation = json_required<std::string>(j, "activation", where);
  return head;
}

}  // namespace

void save_model_dir(const fs::path& dir, MultiTaskModel& model, const fs::path& tokenizer_dir,
                    const ModelDirInfo& info, const std::function<void(const fs::path&)>& extra) {
  write_directory_atomic(dir, [&](const fs::path& tmp) {
    write_contents(tmp, model, tokenizer_dir, info);
    if (extra) extra(tmp);
  });
}

ModelDirInfo read_model_dir_info(const fs::path& dir) {
  const auto file = dir / "mtst.json";
  if (!fs::exists(file)) {
    throw Error(dir.string() +
                ": not an mtst model directory (no mtst.json; `mtst train` writes one)");
  }
  const auto j = read_json_file(file);
  const std::string where = file.string();
  if (json_optional<std::string>(j, "format", "", where) != "mtst-multitask") {
    throw Error(where + ": format is not \"mtst-multitask\"");
  }
  ModelDirInfo info;
  for (const auto& name : json_required<std::vector<std::string>>(j, "pooling", where)) {
    info.pooling.push_back(parse_pooling_mode(name));
  }
  info.max_seq_length = json_required<size_t>(j, "max_seq_length", where);
  info.normalize = json_optional<bool>(j, "normalize", false, where);
  info.training_config = j.contains("training_config") ? j.at("training_config") : nullptr;
  const auto& tasks = j.at("tasks");
  if (!tasks.is_array() || tasks.empty()) throw Error(where + ": tasks must be a non-empty list");
  for (const auto& t : tasks) {
    TaskInfo task;
    task.name = json_required<std::string>(t, "name", where);
    task.labels = json_required<std::vector<std::string>>(t, "labels", where);
    task.head = read_head_config(t.at("head"), where + ": task " + task.name);
    if (static_cast<int64_t>(task.labels.size()) != task.head.num_classes) {
      throw Error(where + ": task " + task.name + " has " + std::to_string(task.labels.size()) +
                  " labels but its head has " + std::to_string(task.head.num_classes) + " classes");
    }
    if (!fs::exists(dir / "heads" / task.name / "model.safetensors")) {
      throw Error(dir.string() + ": heads/" + task.name + "/model.safetensors is missing");
    }
    info.tasks.push_back(std::move(task));
  }
  return info;
}

void load_head(const fs::path& dir, const TaskInfo& task, ClassifierHead& head) {
  const auto file = dir / "heads" / task.name / "model.safetensors";
  const auto tensors = read_safetensors(file);
  auto params = head->named_parameters();
  if (tensors.size() != params.size()) {
    throw Error(file.string() + ": expected " + std::to_string(params.size()) +
                " tensors (0.weight, 0.bias, 2.weight, 2.bias), found " +
                std::to_string(tensors.size()));
  }
  at::NoGradGuard no_grad;
  for (auto& p : params) {
    const auto it = tensors.find(p.key());
    if (it == tensors.end()) throw Error(file.string() + ": tensor " + p.key() + " is missing");
    if (!it->second.sizes().equals(p.value().sizes()) || it->second.scalar_type() != at::kFloat) {
      throw Error(file.string() + ": tensor " + p.key() + " has the wrong shape or dtype");
    }
    p.value().copy_(it->second);
  }
}

LoadedModel load_model_dir(const fs::path& dir) {
  LoadedModel out;
  out.info = read_model_dir_info(dir);
  const auto config = BertConfig::from_file(dir / "config.json");
  BertModel bert(config);
  const auto weights = find_weight_file(dir);
  const auto tensors = read_weight_file(weights);
  load_bert_weights(bert, tensors, weights.string());
  out.info.pooler = pooler_weights(tensors, config, 0);
  std::vector<std::pair<std::string, HeadConfig>> heads;
  for (const auto& task : out.info.tasks) heads.emplace_back(task.name, task.head);
  out.model = MultiTaskModel(bert, heads, out.info.pooling);
  for (const auto& task : out.info.tasks) {
    auto head = out.model->head(task.name);
    load_head(dir, task, head);
  }
  out.tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_dir(dir));
  return out;
}

}  // namespace mtst
