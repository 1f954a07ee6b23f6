// The multi-task model: one shared BERT encoder, sentence pooling, and one classifier head per
// task. Parameter names: "bert.<HF key>" and "heads.<task>.<0|2>.<weight|bias>".
// This is the autograd path used for training; inference goes through an EncoderEngine
// (encoder_engine.h). Shapes: B batch, T tokens, H hidden, C classes.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/moduledict.h>

#include <string>
#include <utility>
#include <vector>

#include "mtst/model/bert.h"
#include "mtst/model/classifier_head.h"
#include "mtst/model/pooling.h"

namespace mtst {

struct MultiTaskModelImpl : torch::nn::Module {
  MultiTaskModelImpl(BertModel encoder,
                     const std::vector<std::pair<std::string, HeadConfig>>& heads,
                     std::vector<PoolingMode> pooling);
  // input_ids, attention_mask [B,T] -> pooled sentence embeddings [B,H]
  torch::Tensor embed(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  // embeddings [B,H] -> logits [B,C] of TASK's head
  torch::Tensor logits(const std::string& task, const torch::Tensor& embeddings);
  ClassifierHead head(const std::string& task) const;
  std::vector<std::string> task_names() const;
  // Where the parameters are (the encoder's and the heads' always share a device).
  c10::Device device() const;

  BertModel bert{nullptr};
  torch::nn::ModuleDict heads{nullptr};
  std::vector<PoolingMode> pooling_;
};
TORCH_MODULE(MultiTaskModel);

}  // namespace mtst
