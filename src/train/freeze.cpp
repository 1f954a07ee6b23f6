// Freeze policies (see freeze.h).
#include "mtst/train/freeze.h"

#include "mtst/error.h"

namespace mtst {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Whether a backbone parameter name ("embeddings...", "encoder.layer.<i>...") is frozen.
bool backbone_frozen(const std::string& name, const FreezePolicy& p) {
  using Kind = FreezePolicy::Kind;
  switch (p.kind) {
    case Kind::kBackbone:
    case Kind::kAll:
      return true;
    case Kind::kEmbeddings:
      return starts_with(name, "embeddings.");
    case Kind::kLayers: {
      if (starts_with(name, "embeddings.")) return true;
      const std::string prefix = "encoder.layer.";
      if (!starts_with(name, prefix)) return false;
      return std::stoll(name.substr(prefix.size())) < p.layers;
    }
    default:
      return false;
  }
}

}  // namespace

FreezePolicy FreezePolicy::parse(const std::string& text) {
  FreezePolicy p;
  if (text == "none") return p;
  if (text == "backbone") {
    p.kind = Kind::kBackbone;
  } else if (text == "all") {
    p.kind = Kind::kAll;
  } else if (text == "embeddings") {
    p.kind = Kind::kEmbeddings;
  } else if (starts_with(text, "head:") && text.size() > 5) {
    p.kind = Kind::kHead;
    p.task = text.substr(5);
  } else if (starts_with(text, "layers:")) {
    p.kind = Kind::kLayers;
    const std::string k = text.substr(7);
    if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos || k.size() > 6) {
      throw Error("freeze '" + text + "': expected layers:<k> with k a non-negative integer");
    }
    p.layers = std::stoll(k);
  } else {
    throw Error("freeze '" + text +
                "' is not a policy (expected none, backbone, all, head:<task>, embeddings or "
                "layers:<k>)");
  }
  return p;
}

std::string FreezePolicy::to_string() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kBackbone:
      return "backbone";
    case Kind::kAll:
      return "all";
    case Kind::kHead:
      return "head:" + task;
    case Kind::kEmbeddings:
      return "embeddings";
    case Kind::kLayers:
      return "layers:" + std::to_string(layers);
  }
  return "none";
}

TrainableParameters apply_freeze(MultiTaskModel& model, const FreezePolicy& policy) {
  if (policy.kind == FreezePolicy::Kind::kAll) {
    throw Error(
        "freeze 'all' leaves nothing to train; to measure a model as it is, run "
        "`mtst evaluate --model DIR`");
  }
  if (policy.kind == FreezePolicy::Kind::kHead) model->head(policy.task);  // throws if unknown
  const int64_t depth = model->bert->config().num_hidden_layers;
  if (policy.kind == FreezePolicy::Kind::kLayers && policy.layers > depth) {
    throw Error("freeze 'layers:" + std::to_string(policy.layers) + "': the encoder has only " +
                std::to_string(depth) + " layers");
  }
  TrainableParameters trainable;
  for (auto& p : model->bert->named_parameters()) {
    const bool frozen = backbone_frozen(p.key(), policy);
    p.value().requires_grad_(!frozen);
    if (!frozen) trainable.backbone.push_back(p.value());
  }
  for (const auto& task : model->task_names()) {
    const bool frozen = policy.kind == FreezePolicy::Kind::kHead && policy.task == task;
    for (auto& p : model->head(task)->parameters()) {
      p.requires_grad_(!frozen);
      if (frozen) continue;
      trainable.heads.push_back(p);
      trainable.head_tasks.push_back(task);
    }
  }
  return trainable;
}

}  // namespace mtst
