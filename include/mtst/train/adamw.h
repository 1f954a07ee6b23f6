// AdamW (decoupled weight decay, PyTorch's update rule and defaults) as one fused pass per
// parameter, with optional clipping by the global gradient norm folded into the same pass.
// libtorch's torch::optim::AdamW runs ~8 separate tensor ops per parameter per step (a third
// of a small model's step); this computes the same update element by element. Parameters whose
// gradient is undefined are skipped that step, as PyTorch does (each keeps its own step count).
// Float32 parameters and gradients only.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "mtst/io/tensor_map.h"

namespace mtst {

struct AdamWGroup {
  std::vector<at::Tensor> params;
  double lr = 1e-3;
  double weight_decay = 0.01;
};

class FusedAdamW {
 public:
  FusedAdamW(std::vector<AdamWGroup> groups, double beta1 = 0.9, double beta2 = 0.999,
             double eps = 1e-8);

  size_t num_groups() const { return groups_.size(); }
  void set_lr(size_t group, double lr) { groups_.at(group).lr = lr; }
  double lr(size_t group) const { return groups_.at(group).lr; }
  // Drops every gradient (the next backward allocates fresh ones).
  void zero_grad();
  // Scales gradients so their global L2 norm is at most MAX_GRAD_NORM (0 = no clipping), then
  // applies one update. Returns the global gradient norm before clipping.
  double step(double max_grad_norm = 0);

  // Moments and step counts, to resume exactly: "exp_avg/<g>/<i>", "exp_avg_sq/<g>/<i>",
  // "steps/<g>" (int64 per parameter). load_state checks names and shapes.
  TensorMap state() const;
  void load_state(const TensorMap& state);

 private:
  struct ParamState {
    at::Tensor exp_avg, exp_avg_sq;
    int64_t steps = 0;
  };
  std::vector<AdamWGroup> groups_;
  std::vector<std::vector<ParamState>> state_;
  double beta1_, beta2_, eps_;
};

}  // namespace mtst
