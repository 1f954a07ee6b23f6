// The fast inference path of a BertModel: weights cast once to the run's dtype, Q/K/V fused
// into one packed GEMM, bias/GELU/residual fused into the GEMMs (oneDNN), attention as two
// strided batched products with no transposed copies. No autograd; same math as BertModel.
// Shapes: B batch, T tokens, H hidden, A heads.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "mtst/model/bert.h"
#include "mtst/runtime/exec_options.h"

namespace mtst {

class FastLayerNorm;

class InferenceBert {
 public:
  InferenceBert(const BertModel& model, Precision precision);
  // input_ids, attention_mask [B,T] int64 -> last hidden state [B,T,H] in the run's dtype.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) const;
  at::ScalarType dtype() const { return dtype_; }
  const BertConfig& config() const { return config_; }

 private:
  struct Layer;
  at::Tensor embed(const at::Tensor& input_ids) const;
  at::Tensor layer_forward(const Layer& layer, const at::Tensor& x, int64_t B, int64_t T,
                           const at::Tensor& mask_bias) const;

  BertConfig config_;
  at::ScalarType dtype_;
  bool fused_;  // oneDNN path; otherwise the module's own forward
  BertModel fallback_{nullptr};
  at::Tensor word_, position_, token_type0_;
  std::shared_ptr<const FastLayerNorm> emb_ln_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace mtst
