// Fused AdamW (see adamw.h). The arithmetic follows torch.optim.AdamW (foreach=False) step by
// step: decay, first and second moments, bias corrections, denominator, update.
#include "mtst/train/adamw.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <string>

#include "mtst/error.h"

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
      const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
      const float decay = static_cast<float>(1.0 - group.lr * group.weight_decay);
      const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(st.steps));
      const float bc2_sqrt =
          static_cast<float>(std::sqrt(1.0 - std::pow(beta2_, static_cast<double>(st.steps))));
      const float step_size = static_cast<float>(group.lr / bc1);
      const float eps = static_cast<float>(eps_);
      const float scale = static_cast<float>(clip);
      float* w = p.data_ptr<float>();
      float* m = st.exp_avg.data_ptr<float>();
      float* v = st.exp_avg_sq.data_ptr<float>();
      const float* gr = grad.data_ptr<float>();
      at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float gi_ = scale == 1.0f ? gr[i] : gr[i] * scale;
          w[i] *= decay;
          m[i] = m[i] * b1 + gi_ * (1.0f - b1);
          v[i] = v[i] * b2 + (1.0f - b2) * gi_ * gi_;
          const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
          w[i] += (-step_size * m[i]) / denom;
        }
      });
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
