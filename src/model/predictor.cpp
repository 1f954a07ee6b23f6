// Multi-task inference from a model directory (see predictor.h).
#include "mtst/model/predictor.h"

#include <ATen/core/grad_mode.h>

#include "mtst/model/pooling.h"

namespace mtst {

Predictor::Predictor(SentenceEncoder encoder, ModelDirInfo info, std::vector<ClassifierHead> heads)
    : encoder_(std::move(encoder)), info_(std::move(info)), heads_(std::move(heads)) {}

Predictor Predictor::load(const std::filesystem::path& dir, const ExecOptions& exec,
                          bool allow_plain_encoder) {
  if (allow_plain_encoder && !std::filesystem::exists(dir / "mtst.json")) {
    auto encoder = SentenceEncoder::load(dir, exec);
    ModelDirInfo info;
    info.pooling = encoder.layout().pooling;
    info.normalize = encoder.layout().normalize;
    info.max_seq_length = encoder.max_seq_length();
    return Predictor(std::move(encoder), std::move(info), {});
  }
  auto info = read_model_dir_info(dir);
  auto encoder = SentenceEncoder::load(dir, exec);
  std::vector<ClassifierHead> heads;
  for (const auto& task : info.tasks) {
    ClassifierHead head(task.head);
    load_head(dir, task, head);
    head->eval();
    heads.push_back(head);
  }
  return Predictor(std::move(encoder), std::move(info), std::move(heads));
}

EncodeOptions Predictor::head_encode_options(size_t batch_size, size_t max_padded_tokens) const {
  EncodeOptions options;
  options.batch_size = batch_size;
  options.max_padded_tokens = max_padded_tokens;
  options.max_seq_length = info_.max_seq_length;
  options.pooling = info_.pooling;
  options.normalize = 0;
  return options;
}

at::Tensor Predictor::head_inputs(const std::vector<std::string>& texts, size_t batch_size,
                                  size_t max_padded_tokens, size_t* truncated) const {
  auto result = encoder_.encode(texts, head_encode_options(batch_size, max_padded_tokens));
  if (truncated != nullptr) *truncated = result.truncated;
  return result.embeddings;
}

at::Tensor Predictor::head_inputs_ids(const std::vector<std::vector<int64_t>>& ids,
                                      size_t batch_size, size_t max_padded_tokens) const {
  return encoder_.encode_ids(ids, head_encode_options(batch_size, max_padded_tokens));
}

std::vector<at::Tensor> Predictor::logits(const at::Tensor& head_inputs) const {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (auto head : heads_) out.push_back(head->forward(head_inputs));
  return out;
}

at::Tensor Predictor::sentence_embeddings(const at::Tensor& head_inputs) const {
  return info_.normalize ? l2_normalize(head_inputs) : head_inputs;
}

}  // namespace mtst
