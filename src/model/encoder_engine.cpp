// The engine choice and the module engine (see encoder_engine.h).
#include "mtst/model/encoder_engine.h"

#include <ATen/core/grad_mode.h>

#include "mtst/model/fused_cpu_engine.h"
#include "mtst/ops/exec_plan.h"
#include "ops/matmul_cpu_dnnl.h"

namespace mtst {

EncoderEngine::EncoderEngine(const BertConfig& config, Precision precision, c10::Device device)
    : config_(config), precision_(precision), dtype_(precision_dtype(precision)), device_(device) {
  require_precision_supported(precision, device);
}

ModuleEngine::ModuleEngine(const BertModel& model, Precision precision, c10::Device device)
    : EncoderEngine(model->config(), precision, device) {
  at::NoGradGuard no_grad;
  module_ = BertModel(config());
  auto src = model->named_parameters();
  for (auto& p : module_->named_parameters()) p.value().copy_(src[p.key()]);
  module_->to(device, dtype());
  module_->eval();
}

at::Tensor ModuleEngine::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                 bool /*pack*/) const {
  at::InferenceMode inference;
  BertModel module = module_;  // a handle copy; forward is not const in libtorch
  // From pinned host memory the copies overlap with the previous batch's kernels.
  const bool async = !device().is_cpu() && input_ids.is_pinned();
  return module->forward(input_ids.to(device(), async), attention_mask.to(device(), async));
}

std::unique_ptr<EncoderEngine> make_encoder_engine(
    const BertModel& model, Precision precision, c10::Device device,
    const std::vector<std::vector<int64_t>>& calibration) {
  if (device.is_cpu() && dnnl_available()) {
    return std::make_unique<FusedCpuEngine>(model, precision, calibration);
  }
  return std::make_unique<ModuleEngine>(model, precision, device);
}

}  // namespace mtst
