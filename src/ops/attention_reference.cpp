// The reference attention: two products and a softmax, and the device dispatch (attention.h).
#include "ops/attention.h"
#include "ops/autograd_products.h"
#include "ops/hashed_dropout.h"

namespace mtst {

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& bias, double scale, double dropout_p,
                               bool training) {
  auto scores = trainable_matmul(q, k.transpose(-1, -2), scale);
  auto probs = hashed_dropout(at::softmax(scores + bias, -1), dropout_p, training);
  return trainable_matmul(probs, v);
}

at::Tensor attention_context(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& bias, double scale, double dropout_p,
                             bool training) {
  const bool dropout_due = training && dropout_p > 0.0;
  if (q.is_cuda() && !dropout_due && sdpa_available()) {
    return attention_sdpa(q, k, v, bias, scale);
  }
  return attention_reference(q, k, v, bias, scale, dropout_p, training);
}

}  // namespace mtst
