// Copying checkpoint tensors into BertModel by Hugging Face name, with one error listing all
// missing, unexpected and mis-shaped keys.
#include "mtst/model/weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <sstream>

#include "mtst/error.h"
#include "mtst/io/safetensors.h"
#include "mtst/io/torch_bin.h"

namespace mtst {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool is_known_extra(const std::string& key) {
  return starts_with(key, "pooler.") || key == "embeddings.position_ids" ||
         key == "embeddings.token_type_ids";
}

std::string shape_string(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

}  // namespace

TensorMap pooler_weights(const TensorMap& checkpoint, const BertConfig& config, uint64_t seed) {
  const int64_t hidden = config.hidden_size;
  auto find = [&](const std::string& name) -> at::Tensor {
    for (const std::string& key : {name, "bert." + name}) {
      auto it = checkpoint.find(key);
      if (it != checkpoint.end()) return it->second;
    }
    return {};
  };
  const auto weight = find("pooler.dense.weight");
  const auto bias = find("pooler.dense.bias");
  if (weight.defined() && bias.defined() && weight.sizes().equals({hidden, hidden}) &&
      bias.sizes().equals({hidden})) {
    return {{"pooler.dense.weight", weight.to(at::kFloat).contiguous().clone()},
            {"pooler.dense.bias", bias.to(at::kFloat).contiguous().clone()}};
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return {{"pooler.dense.weight", at::empty({hidden, hidden}, at::kFloat).normal_(0.0, 0.02, gen)},
          {"pooler.dense.bias", at::zeros({hidden}, at::kFloat)}};
}

WeightLoadReport load_bert_weights(BertModel& model, const TensorMap& tensors,
                                   const std::string& source) {
  WeightLoadReport report;
  // Some exports (BertForMaskedLM, BertForSequenceClassification) prefix the encoder "bert.".
  size_t prefixed = 0;
  for (const auto& kv : tensors) prefixed += starts_with(kv.first, "bert.") ? 1 : 0;
  report.stripped_bert_prefix = prefixed > 0 && prefixed * 2 >= tensors.size();

  TensorMap by_name;
  for (const auto& kv : tensors) {
    std::string key = kv.first;
    if (report.stripped_bert_prefix) {
      if (!starts_with(key, "bert.")) {
        report.ignored.push_back(key);  // task heads of a BertFor* model (cls.*, classifier.*)
        continue;
      }
      key = key.substr(5);
    }
    if (is_known_extra(key)) {
      report.ignored.push_back(kv.first);
      continue;
    }
    by_name.emplace(key, kv.second);
  }

  std::vector<std::string> missing, mismatched;
  auto params = model->named_parameters(true);
  for (const auto& p : params) {
    auto it = by_name.find(p.key());
    if (it == by_name.end()) {
      missing.push_back(p.key());
    } else if (!it->second.sizes().equals(p.value().sizes())) {
      mismatched.push_back(p.key() + " (checkpoint " + shape_string(it->second.sizes()) +
                           ", model " + shape_string(p.value().sizes()) + ")");
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& kv : by_name) {
    if (params.find(kv.first) == nullptr) unexpected.push_back(kv.first);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::ostringstream msg;
    msg << source << ": checkpoint does not match the BERT config";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      msg << "; " << what << " (" << keys.size() << "):";
      for (size_t i = 0; i < keys.size() && i < 20; ++i) msg << ' ' << keys[i];
      if (keys.size() > 20) msg << " ...";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("wrong shape", mismatched);
    throw Error(msg.str());
  }
  at::NoGradGuard no_grad;
  for (auto& p : params) {
    const auto& src = by_name.at(p.key());
    if (!src.is_floating_point()) {
      throw Error(source + ": tensor " + p.key() + " is not floating point");
    }
    p.value().copy_(src.to(p.value().scalar_type()));
  }
  return report;
}

std::filesystem::path find_weight_file(const std::filesystem::path& dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    if (std::filesystem::is_regular_file(dir / name)) return dir / name;
  }
  if (std::filesystem::exists(dir / "model.safetensors.index.json") ||
      std::filesystem::exists(dir / "pytorch_model.bin.index.json")) {
    throw Error(dir.string() +
                ": sharded checkpoints are not supported; merge the shards into "
                "one model.safetensors");
  }
  throw Error(dir.string() +
              ": no weights found (expected model.safetensors or "
              "pytorch_model.bin)");
}

TensorMap read_weight_file(const std::filesystem::path& path) {
  if (path.extension() == ".safetensors") return read_safetensors(path);
  if (path.extension() == ".bin") return read_torch_bin(path);
  throw Error(path.string() + ": unknown weight file type (expected .safetensors or .bin)");
}

}  // namespace mtst
