// The fast inference path of a BertModel: weights cast once to the run's dtype, Q/K/V fused
// into one packed GEMM, bias/GELU/residual fused into the GEMMs (oneDNN), attention as two
// strided batched products with no transposed copies. No autograd; same math as BertModel.
// A batch with padding is packed (TokenRows): the GEMMs see only its N real tokens and
// attention runs per small group of similar-length sentences, so a batch of mixed lengths
// (a server's) costs what its real tokens cost. Shapes: B batch, T tokens, H hidden, A heads.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "mtst/model/bert.h"
#include "mtst/runtime/exec_options.h"

namespace mtst {

class FastLayerNorm;
class InputRecorder;
struct KernelPlan;

class InferenceBert {
 public:
  // On DEVICE cuda the module's own forward runs there (cuBLAS, SDPA attention) in the run's
  // dtype; the fused oneDNN path is the CPU's.
  // int8 calibrates on CALIBRATION (token ids of sentences, e.g. int8_calibration_sentences()
  // tokenized): without it the int8 layers quantise without smoothing.
  InferenceBert(const BertModel& model, Precision precision, c10::Device device = c10::kCPU,
                const std::vector<std::vector<int64_t>>& calibration = {});
  // input_ids, attention_mask [B,T] int64 (any device) -> last hidden state [B,T,H] in the
  // run's dtype, on the run's device.
  // Padding positions of the result are zeros when the batch was packed (pooling masks them).
  // PACK false keeps every padded position in the products (the reference for tests).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     bool pack = true) const;
  at::ScalarType dtype() const { return dtype_; }  // of the activations (float for int8)
  Precision precision() const { return precision_; }
  c10::Device device() const { return device_; }
  const BertConfig& config() const { return config_; }

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
  at::Tensor layer_forward(const Layer& layer, const at::Tensor& x, int64_t B, int64_t T,
                           const at::Tensor& mask_bias) const;
  // Attention output projection, feed-forward and norms: x [N,H], context [N,H] -> [N,H].
  at::Tensor layer_tail(const Layer& layer, const at::Tensor& x, const at::Tensor& context) const;
  // GROUP_ROWS: tokens.gather with the zero-row index replaced by 0.
  at::Tensor packed_layer_forward(const Layer& layer, const at::Tensor& x, const TokenRows& tokens,
                                  const at::Tensor& group_rows) const;

  BertConfig config_;
  Precision precision_;
  at::ScalarType dtype_;
  c10::Device device_;
  double lowest_;  // the dtype's lowest value: the score of a masked key
  bool fused_;     // oneDNN path (CPU); otherwise the module's own forward on device_
  BertModel fallback_{nullptr};
  at::Tensor word_, position_, token_type0_;
  std::shared_ptr<const FastLayerNorm> emb_ln_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace mtst
