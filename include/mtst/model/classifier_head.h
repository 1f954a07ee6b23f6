// A task's classifier head: Linear(H, hidden) - activation - dropout - Linear(hidden, C), with
// parameter names "0.*" and "2.*" as in the equivalent torch.nn.Sequential (the seed's heads).
// Shapes: B batch, H embedding size, C classes.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>

namespace mtst {

struct HeadConfig {
  int64_t input_size = 0;  // H
  int64_t hidden_size = 256;
  int64_t num_classes = 0;  // C
  double dropout = 0.1;
  std::string activation = "relu";  // relu | gelu | tanh
};

struct ClassifierHeadImpl : torch::nn::Module {
  explicit ClassifierHeadImpl(const HeadConfig& config);
  torch::Tensor forward(const torch::Tensor& embeddings);  // [B,H] -> logits [B,C]
  HeadConfig config_;
  torch::nn::Linear hidden{nullptr}, output{nullptr};
};
TORCH_MODULE(ClassifierHead);

}  // namespace mtst
