// Shared encoder + per-task heads (see multitask_model.h).
#include "mtst/model/multitask_model.h"

#include "mtst/error.h"

namespace mtst {

MultiTaskModelImpl::MultiTaskModelImpl(
    BertModel encoder, const std::vector<std::pair<std::string, HeadConfig>>& head_configs,
    std::vector<PoolingMode> pooling)
    : pooling_(std::move(pooling)) {
  if (head_configs.empty()) throw Error("multi-task model: no tasks");
  bert = register_module("bert", std::move(encoder));
  heads = register_module("heads", torch::nn::ModuleDict());
  for (const auto& [name, config] : head_configs) {
    if (name.empty() || name.find('.') != std::string::npos) {
      throw Error("task name '" + name + "' must be non-empty and contain no '.'");
    }
    if (heads->contains(name)) throw Error("task '" + name + "' is listed twice");
    heads->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{
        {name, ClassifierHead(config).ptr()}});
  }
}

torch::Tensor MultiTaskModelImpl::embed(const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask) {
  return pool(bert->forward(input_ids, attention_mask), attention_mask, pooling_);
}

ClassifierHead MultiTaskModelImpl::head(const std::string& task) const {
  if (!heads->contains(task)) throw Error("no head for task '" + task + "'");
  return ClassifierHead(
      std::dynamic_pointer_cast<ClassifierHeadImpl>(heads.ptr()->operator[](task)));
}

torch::Tensor MultiTaskModelImpl::logits(const std::string& task, const torch::Tensor& embeddings) {
  return head(task)->forward(embeddings);
}

std::vector<std::string> MultiTaskModelImpl::task_names() const { return heads->keys(); }

c10::Device MultiTaskModelImpl::device() const {
  return bert->embeddings->word_embeddings->weight.device();
}

}  // namespace mtst
