// Fused AdamW (see adamw.h): gradient clipping, per-parameter step counts and the scalars of
// torch.optim.AdamW's update (foreach=False); the update itself is ops/adamw_update.cpp.
#include "mtst/train/adamw.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <string>

#include "mtst/error.h"
#include "ops/adamw_update.h"

namespace mtst {

FusedAdamW::FusedAdamW(std::vector<AdamWGroup> groups, double beta1, double beta2, double eps)
    : groups_(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& g : groups_) {
    std::vector<ParamState> states;
    for (const auto& p : g.params) {
      if (p.scalar_type() != at::kFloat || !p.is_contiguous()) {
        throw Error("AdamW: parameters must be contiguous float32 tensors");
      }
      states.push_back({at::zeros_like(p), at::zeros_like(p), 0});
    }
    state_.push_back(std::move(states));
  }
}

void FusedAdamW::zero_grad() {
  for (auto& g : groups_) {
    for (auto& p : g.params) p.mutable_grad().reset();
  }
}

double FusedAdamW::step(double max_grad_norm) {
  at::NoGradGuard no_grad;
  double squares = 0;
  for (const auto& g : groups_) {
    for (const auto& p : g.params) {
      if (!p.grad().defined()) continue;
      const double n = p.grad().norm().item<double>();  // per tensor, as PyTorch does
      squares += n * n;
    }
  }
  const double norm = std::sqrt(squares);
  // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), applied when < 1.
  double clip = 1.0;
  if (max_grad_norm > 0 && max_grad_norm / (norm + 1e-6) < 1.0)
    clip = max_grad_norm / (norm + 1e-6);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const at::Tensor& p = group.params[pi];
      if (!p.grad().defined()) continue;
      auto& st = state_[gi][pi];
      ++st.steps;
      const auto grad = p.grad().to(at::kFloat).contiguous();
      AdamWScalars s;
      s.decay = static_cast<float>(1.0 - group.lr * group.weight_decay);
      s.beta1 = static_cast<float>(beta1_);
      s.beta2 = static_cast<float>(beta2_);
      s.bc2_sqrt =
          static_cast<float>(std::sqrt(1.0 - std::pow(beta2_, static_cast<double>(st.steps))));
      s.step_size =
          static_cast<float>(group.lr / (1.0 - std::pow(beta1_, static_cast<double>(st.steps))));
      s.eps = static_cast<float>(eps_);
      s.grad_scale = static_cast<float>(clip);
      at::Tensor w = p;
      adamw_update(w, st.exp_avg, st.exp_avg_sq, grad, s);
    }
  }
  return norm;
}

TensorMap FusedAdamW::state() const {
  TensorMap out;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    std::vector<int64_t> steps;
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      const std::string id = std::to_string(gi) + "/" + std::to_string(pi);
      out["exp_avg/" + id] = state_[gi][pi].exp_avg;
      out["exp_avg_sq/" + id] = state_[gi][pi].exp_avg_sq;
      steps.push_back(state_[gi][pi].steps);
    }
    out["steps/" + std::to_string(gi)] = at::tensor(steps, at::kLong);
  }
  return out;
}

void FusedAdamW::load_state(const TensorMap& state) {
  auto get = [&](const std::string& name) -> const at::Tensor& {
    const auto it = state.find(name);
    if (it == state.end()) throw Error("optimizer state: " + name + " is missing");
    return it->second;
  };
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& steps = get("steps/" + std::to_string(gi));
    if (steps.numel() != static_cast<int64_t>(state_[gi].size())) {
      throw Error("optimizer state: group " + std::to_string(gi) + " has another parameter count");
    }
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      const std::string id = std::to_string(gi) + "/" + std::to_string(pi);
      auto& st = state_[gi][pi];
      for (auto* pair : {&st.exp_avg, &st.exp_avg_sq}) {
        const auto& saved = get((pair == &st.exp_avg ? "exp_avg/" : "exp_avg_sq/") + id);
        if (!saved.sizes().equals(pair->sizes()) || saved.scalar_type() != at::kFloat) {
          throw Error("optimizer state: " + id + " does not match the model's parameter");
        }
        pair->copy_(saved);
      }
      st.steps = steps[static_cast<int64_t>(pi)].item<int64_t>();
    }
  }
}

}  // namespace mtst
