// The tail of a BERT encoder layer, everything after attention, behind one entry for every
// precision:   a = LN1(context Wo^T + bo + x)
//              y = LN2(act(a W1^T + b1) W2^T + b2 + a)
// Backends, one file each: the composition of three Linear ops and two layer norms
// (layer_tail_reference.cpp: with the fast float Linear backends and oneDNN's layer norm it
// is the fp32/bf16 path; with the reference backends and ATen's layer norm it is the oracle),
// and int8 on the CPU fused block by block (layer_tail_int8_cpu_dnnl.cpp: a block of rows
// goes through all three products and both norms while it is in the cache, and the
// feed-forward hidden rows go from one product to the next as u8 codes, never as floats).
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "mtst/ops/activation.h"
#include "ops/kernel_plan.h"
#include "ops/linear.h"

namespace mtst {

// The float weights of a layer tail, as trained ([out, in] matrices).
struct LayerTailWeights {
  at::Tensor attn_out_weight, attn_out_bias;  // Wo, bo
  at::Tensor ffn_in_weight, ffn_in_bias;      // W1, b1
  at::Tensor ffn_out_weight, ffn_out_bias;    // W2, b2
  at::Tensor ln1_weight, ln1_bias, ln2_weight, ln2_bias;
  double eps = 1e-12;
  Activation activation = Activation::kGeluErf;
};

// The largest |input| per column each product saw on calibration text (int8 smoothing);
// undefined tensors: none seen.
struct LayerTailStats {
  at::Tensor attn_out, ffn_in, ffn_out;
};

class LayerTailBackend {
 public:
  virtual ~LayerTailBackend() = default;
  // x, context [M,H] contiguous rows in the run's dtype -> y [M,H].
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& context) const = 0;
};

class LayerTail {
 public:
  LayerTail() = default;
  // The backend PLAN gives: int8 fused on a CPU with oneDNN, else the composition of the
  // plan's Linear ops and oneDNN's layer norm.
  LayerTail(const LayerTailWeights& weights, const KernelPlan& plan,
            const LayerTailStats& stats = {});
  explicit LayerTail(std::shared_ptr<const LayerTailBackend> backend) : impl_(std::move(backend)) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context) const {
    return impl_->forward(x, context);
  }

 private:
  std::shared_ptr<const LayerTailBackend> impl_;
};

// The tail as its parts: ATTN_OUT, FFN_IN, FFN_OUT as given (the epilogues fused as Linear
// allows), the norms by oneDNN (FastLayerNorm) or, with REFERENCE_NORMS, by ATen.
std::shared_ptr<const LayerTailBackend> make_composed_layer_tail(const LayerTailWeights& weights,
                                                                 Linear attn_out, Linear ffn_in,
                                                                 Linear ffn_out,
                                                                 bool reference_norms);
// The fused int8 tail (PLAN's precision must be int8).
std::shared_ptr<const LayerTailBackend> make_int8_layer_tail(const LayerTailWeights& weights,
                                                             const KernelPlan& plan,
                                                             const LayerTailStats& stats);

}  // namespace mtst
