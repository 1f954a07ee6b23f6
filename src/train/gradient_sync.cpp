// sum_gradients (see gradient_sync.h).
#include "train/gradient_sync.h"

#include <string>

namespace mtst {

namespace {

// Which parameters have a gradient on any rank (max over ranks of a 0/1 flag each).
std::vector<bool> gradients_anywhere(const std::vector<at::Tensor>& parameters,
                                     Communicator& communicator, const std::string& when) {
  auto flags = at::zeros({static_cast<int64_t>(parameters.size())}, at::kInt);
  auto* f = flags.data_ptr<int32_t>();
  for (size_t i = 0; i < parameters.size(); ++i) f[i] = parameters[i].grad().defined() ? 1 : 0;
  communicator.allreduce_max(flags, "gradient presence " + when);
  std::vector<bool> anywhere;
  for (size_t i = 0; i < parameters.size(); ++i) anywhere.push_back(f[i] != 0);
  return anywhere;
}

}  // namespace

std::vector<bool> sum_gradients(const std::vector<at::Tensor>& parameters,
                                Communicator& communicator, int64_t step, int64_t bucket_bytes) {
  const std::string when = "at step " + std::to_string(step + 1);
  const auto anywhere = gradients_anywhere(parameters, communicator, when);
  std::vector<at::Tensor> bucket;
  int64_t bytes = 0;
  auto flush = [&] {
    communicator.allreduce_sum(bucket, "gradient all-reduce " + when);
    bucket.clear();
    bytes = 0;
  };
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!anywhere[i]) continue;
    auto p = parameters[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    bucket.push_back(p.grad());
    bytes += p.grad().numel() * static_cast<int64_t>(p.grad().element_size());
    if (bytes >= bucket_bytes) flush();
  }
  if (!bucket.empty()) flush();
  return anywhere;
}

}  // namespace mtst
