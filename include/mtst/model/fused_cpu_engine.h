// The fused CPU engine (an EncoderEngine, see encoder_engine.h): the fast inference path of a
// BertModel on oneDNN: weights cast once to the run's dtype, Q/K/V fused
// into one packed GEMM, bias/GELU/residual fused into the GEMMs (oneDNN), attention as two
// batched products over Q/K/V gathered head-major in one pass (in bf16 where the plan says so:
// int8 on CPUs with native bf16). No autograd; same math as BertModel.
// A batch with padding is packed (TokenRows): the GEMMs see only its N real tokens and
// attention runs per small group of similar-length sentences, so a batch of mixed lengths
// (a server's) costs what its real tokens cost. Shapes: B batch, T tokens, H hidden, A heads.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "mtst/model/encoder_engine.h"

namespace mtst {

namespace cpu {
struct AttentionHeadKernels;
}
class FastLayerNorm;
class InputRecorder;
struct KernelPlan;

class FusedCpuEngine final : public EncoderEngine {
 public:
  // int8 calibrates on CALIBRATION (token ids of sentences, e.g. int8_calibration_sentences()
  // tokenized): without it the int8 layers quantise without smoothing. Needs oneDNN.
  FusedCpuEngine(const BertModel& model, Precision precision,
                 const std::vector<std::vector<int64_t>>& calibration = {});
  // Padding positions of the result are zeros when the batch was packed (pooling masks them).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     bool pack = true) const override;

 private:
  struct Layer;
  using LayerStats = std::vector<std::shared_ptr<InputRecorder>>;
  // The encoder layers with PLAN's linear kernels; RECORD (if given) gets one recorder per
  // linear layer, ABSMAX (if given) holds one calibration statistic per linear layer.
  std::vector<std::shared_ptr<Layer>> build_layers(
      const BertModel& model, const KernelPlan& plan, LayerStats* record,
      const std::vector<at::Tensor>* absmax = nullptr) const;
  at::Tensor embed(const at::Tensor& input_ids) const;  // [B*T,H]
  at::Tensor embed_rows(const at::Tensor& input_ids, const at::Tensor& rows,
                        int64_t padded_rows) const;  // [padded_rows,H]
  // Q, K and V of SENTENCES x LENGTH positions of QKV's rows (ROWS: each position's row;
  // null: row p), head-major [3,S,A,L,d] in the attention dtype.
  at::Tensor attention_heads(const at::Tensor& qkv, const int64_t* rows, int64_t sentences,
                             int64_t length) const;
  // softmax(Q K^T) V of one group of HEADS into OUT ([S,A,L,d], any strides); each sentence's
  // keys past its LENGTHS entry (null: none) or MASK_BIAS (undefined: none) masked.
  void attend(const at::Tensor& heads, const std::vector<int64_t>* lengths,
              const at::Tensor& mask_bias, at::Tensor& out) const;
  at::Tensor layer_forward(const Layer& layer, const at::Tensor& x, int64_t B, int64_t T,
                           const at::Tensor& mask_bias) const;
  // Attention output projection, feed-forward and norms: x [N,H], context [N,H] -> [N,H].
  at::Tensor layer_tail(const Layer& layer, const at::Tensor& x, const at::Tensor& context) const;
  // GROUP_ROWS: tokens.gather with the zero-row index replaced by 0.
  at::Tensor packed_layer_forward(const Layer& layer, const at::Tensor& x, const TokenRows& tokens,
                                  const at::Tensor& group_rows) const;

  double lowest_;  // the dtype's lowest value: the score of a masked key
  at::ScalarType attention_dtype_ = at::kFloat;  // of Q, K, V and the probabilities
  const cpu::AttentionHeadKernels* heads_ = nullptr;
  at::Tensor word_, position_, token_type0_;
  std::shared_ptr<const FastLayerNorm> emb_ln_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace mtst
