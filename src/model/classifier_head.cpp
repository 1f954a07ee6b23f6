// Classifier heads (see classifier_head.h).
#include "mtst/model/classifier_head.h"

#include <ATen/ATen.h>

#include "mtst/error.h"
#include "ops/autograd_products.h"
#include "ops/hashed_dropout.h"

namespace mtst {

ClassifierHeadImpl::ClassifierHeadImpl(const HeadConfig& config) : config_(config) {
  if (config.input_size <= 0 || config.hidden_size <= 0 || config.num_classes < 2) {
    throw Error("classifier head: input and hidden sizes must be positive and classes >= 2");
  }
  if (config.activation != "relu" && config.activation != "gelu" && config.activation != "tanh") {
    throw Error("classifier head: activation '" + config.activation +
                "' is not supported (expected relu, gelu or tanh)");
  }
  if (config.dropout < 0 || config.dropout >= 1) {
    throw Error("classifier head: dropout must be in [0, 1)");
  }
  hidden = register_module("0", torch::nn::Linear(config.input_size, config.hidden_size));
  output = register_module("2", torch::nn::Linear(config.hidden_size, config.num_classes));
}

torch::Tensor ClassifierHeadImpl::forward(const torch::Tensor& embeddings) {
  auto h = trainable_linear(embeddings, hidden->weight, hidden->bias);
  h = config_.activation == "relu"   ? at::relu(h)
      : config_.activation == "gelu" ? at::gelu(h)
                                     : at::tanh(h);
  h = hashed_dropout(h, config_.dropout, is_training());
  return trainable_linear(h, output->weight, output->bias);
}

}  // namespace mtst
