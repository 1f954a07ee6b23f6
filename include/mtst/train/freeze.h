// Which parameters of a multi-task model train (the seed's Task 3 choices): none frozen, the
// backbone, everything (refused: use `mtst evaluate`), one task's head, the embeddings, or the
// bottom k encoder layers (embeddings included). Sets requires_grad, so frozen parts compute
// no gradients; returns what the optimizer should see.
#pragma once

#include <string>
#include <vector>

#include "mtst/model/multitask_model.h"

namespace mtst {

struct FreezePolicy {
  enum class Kind { kNone, kBackbone, kAll, kHead, kEmbeddings, kLayers } kind = Kind::kNone;
  std::string task;    // kHead
  int64_t layers = 0;  // kLayers

  // "none" | "backbone" | "all" | "head:<task>" | "embeddings" | "layers:<k>"
  static FreezePolicy parse(const std::string& text);
  std::string to_string() const;
  bool backbone_frozen() const { return kind == Kind::kBackbone; }
};

struct TrainableParameters {
  std::vector<at::Tensor> backbone;     // trainable encoder parameters (the backbone learning rate)
  std::vector<at::Tensor> heads;        // trainable head parameters (the heads learning rate)
  std::vector<std::string> head_tasks;  // the task of each of heads
};

// Applies POLICY to MODEL (requires_grad per parameter) and returns the trainable parameters.
// Throws mtst::Error for "all" (nothing to train), an unknown task, or k beyond the depth.
TrainableParameters apply_freeze(MultiTaskModel& model, const FreezePolicy& policy);

}  // namespace mtst
