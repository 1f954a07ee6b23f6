// Reading modules.json, sentence_bert_config.json and the Pooling config (both generations).
#include "mtst/model/model_layout.h"

#include "mtst/error.h"
#include "mtst/io/json_file.h"

namespace mtst {

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::vector<PoolingMode> read_pooling(const std::filesystem::path& file) {
  const auto j = read_json_file(file);
  const std::string where = file.string();
  std::vector<PoolingMode> modes;
  if (j.contains("pooling_mode")) {
    // sentence-transformers 6: a name, or a list of names.
    const auto& v = j.at("pooling_mode");
    if (v.is_string()) {
      modes.push_back(parse_pooling_mode(v.get<std::string>()));
    } else if (v.is_array()) {
      for (const auto& name : v) {
        if (!name.is_string()) throw Error(where + ": pooling_mode entries must be strings");
        modes.push_back(parse_pooling_mode(name.get<std::string>()));
      }
    } else {
      throw Error(where + ": pooling_mode must be a string or a list of strings");
    }
  } else {
    const std::pair<const char*, PoolingMode> flags[] = {
        {"pooling_mode_cls_token", PoolingMode::kCls},
        {"pooling_mode_max_tokens", PoolingMode::kMax},
        {"pooling_mode_mean_tokens", PoolingMode::kMean},
        {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::kMeanSqrtLen}};
    for (const auto& [key, mode] : flags) {
      if (json_optional<bool>(j, key, false, where)) modes.push_back(mode);
    }
    for (const char* unsupported : {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
      if (json_optional<bool>(j, unsupported, false, where)) {
        throw Error(where + ": " + unsupported + " is not supported");
      }
    }
  }
  if (modes.empty()) throw Error(where + ": no pooling mode is enabled");
  return modes;
}

}  // namespace

ModelLayout read_model_layout(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw Error(dir.string() + ": not a directory (expected a model directory)");
  }
  ModelLayout layout;
  layout.transformer_dir = dir;
  const auto modules_file = dir / "modules.json";
  if (!std::filesystem::exists(modules_file)) {
    layout.kind = "huggingface";
    return layout;
  }
  const auto modules = read_json_file(modules_file);
  if (!modules.is_array()) throw Error(modules_file.string() + ": expected a JSON list");
  bool have_transformer = false, have_pooling = false;
  for (const auto& m : modules) {
    const std::string where = modules_file.string();
    const std::string type = json_required<std::string>(m, "type", where);
    const std::string path = json_optional<std::string>(m, "path", "", where);
    if (contains(type, "Transformer")) {
      have_transformer = true;
      layout.transformer_dir = dir / path;
      // sentence-transformers 6 moved classes under sentence_transformers.base / .sentence_...
      layout.kind = contains(type, "sentence_transformers.models.") ? "sentence-transformers"
                                                                    : "sentence-transformers-6";
    } else if (contains(type, "Pooling")) {
      have_pooling = true;
      layout.pooling = read_pooling(dir / path / "config.json");
    } else if (contains(type, "Normalize")) {
      layout.normalize = true;
    } else {
      throw Error(where + ": module type '" + type +
                  "' is not supported (mtst runs Transformer, Pooling and Normalize modules)");
    }
  }
  if (!have_transformer) throw Error(modules_file.string() + ": no Transformer module listed");
  if (!have_pooling) throw Error(modules_file.string() + ": no Pooling module listed");
  const auto st_config = layout.transformer_dir / "sentence_bert_config.json";
  if (std::filesystem::exists(st_config)) {
    const auto j = read_json_file(st_config);
    const int64_t max_len = json_optional<int64_t>(j, "max_seq_length", 0, st_config.string());
    if (max_len < 0) throw Error(st_config.string() + ": max_seq_length must be positive");
    layout.max_seq_length = static_cast<size_t>(max_len);
  }
  return layout;
}

}  // namespace mtst
