// The encoder engine: what turns token ids into last hidden states for inference. One is
// chosen once, when a model is loaded (make_encoder_engine), and nothing downstream asks which:
// - FusedCpuEngine (fused_cpu_engine.h): the CPU path on oneDNN, fp32, bf16 and int8;
// - ModuleEngine (below): the autograd BertModel itself in the run's dtype, on a GPU (cuBLAS,
//   SDPA attention) or where the build has no oneDNN. It is also the oracle the fused engine
//   is tested against (engine_equality_test).
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "mtst/model/bert.h"
#include "mtst/runtime/exec_options.h"

namespace mtst {

class EncoderEngine {
 public:
  virtual ~EncoderEngine() = default;
  // input_ids, attention_mask [B,T] int64 (any device) -> last hidden state [B,T,H] in the
  // run's dtype, on the run's device. PACK false keeps every padded position in the products
  // (the fused engine's reference for tests; the module engine ignores it).
  virtual at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                             bool pack = true) const = 0;
  at::ScalarType dtype() const { return dtype_; }  // of the activations (float for int8)
  Precision precision() const { return precision_; }
  c10::Device device() const { return device_; }
  const BertConfig& config() const { return config_; }

 protected:
  EncoderEngine(const BertConfig& config, Precision precision, c10::Device device);

 private:
  BertConfig config_;
  Precision precision_;
  at::ScalarType dtype_;
  c10::Device device_;
};

// A copy of the autograd module in the run's dtype and place, run by its own forward.
class ModuleEngine final : public EncoderEngine {
 public:
  ModuleEngine(const BertModel& model, Precision precision, c10::Device device);
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     bool pack = true) const override;

 private:
  BertModel module_{nullptr};
};

// The engine for PRECISION on DEVICE (validated here, one message per impossible pair): the
// fused engine on a CPU with oneDNN, else the module engine. int8 calibrates on CALIBRATION
// (token ids of sentences, e.g. int8_calibration_sentences() tokenized).
std::unique_ptr<EncoderEngine> make_encoder_engine(
    const BertModel& model, Precision precision, c10::Device device,
    const std::vector<std::vector<int64_t>>& calibration = {});

}  // namespace mtst
