// The fused int8 layer tail on the CPU (layer_tail.h). Each block of int8_block_rows() rows
// runs the whole tail before the next block starts:
//   context rows -> u8 -> x Wo -> epilogue + x, LN1 -> a rows (float, kept for the residual)
//   a rows -> u8 -> x W1 -> epilogue, GELU -> u8 codes for W2 (the hidden rows never exist as
//   floats) -> x W2 -> epilogue + a, LN2 -> output rows.
// So the s32 products and the hidden rows stay in the core's cache, and the separate passes of
// the composed tail (quantise, epilogue, layer norm over the whole batch) are gone. Plans with
// 7-bit weights run W2 in fp32 (kernel_plan.h): there the hidden block is written as floats
// and multiplied by oneDNN's fp32 Linear.
#include <ATen/Parallel.h>

#include <algorithm>
#include <optional>

#include "mtst/error.h"
#include "ops/int8_matmul_cpu_dnnl.h"
#include "ops/layer_tail.h"

namespace mtst {

#ifdef MTST_HAVE_DNNL

namespace {

constexpr int64_t kRowGrain = 16;

// Buffers for one block of rows, allocated once per forward.
struct TailScratch {
  TailScratch(int64_t block, int64_t hidden, int64_t ffn, bool float_ffn_out)
      : q_hidden(block, hidden),
        q_ffn(block, float_ffn_out ? 1 : ffn),
        acc(at::empty({block, std::max(hidden, ffn)}, at::kInt)),
        a(at::empty({block, hidden}, at::kFloat)) {
    if (float_ffn_out) h = at::empty({block, ffn}, at::kFloat);
  }
  Int8Rows q_hidden, q_ffn;
  at::Tensor acc, a, h;
};

class Int8LayerTail final : public LayerTailBackend {
 public:
  Int8LayerTail(const LayerTailWeights& w, const KernelPlan& plan, const LayerTailStats& stats)
      : attn_out_(w.attn_out_weight, w.attn_out_bias, plan, stats.attn_out),
        ffn_in_(w.ffn_in_weight, w.ffn_in_bias, plan, stats.ffn_in),
        rows_(cpu::int8_row_kernels(plan.vector_isa)),
        activation_(1 + static_cast<int>(w.activation)),
        ln_(to_float({w.ln1_weight, w.ln1_bias, w.ln2_weight, w.ln2_bias})) {
    if (plan.linear_precision(LinearRole::kFfnOutput) == Precision::kInt8) {
      ffn_out_.emplace(w.ffn_out_weight, w.ffn_out_bias, plan, stats.ffn_out);
    } else {
      ffn_out_float_ = Linear(w.ffn_out_weight, w.ffn_out_bias, plan, LinearRole::kFfnOutput);
    }
    for (int i = 0; i < 2; ++i) {
      norms_[i].weight = ln_[2 * i].data_ptr<float>();
      norms_[i].bias = ln_[2 * i + 1].data_ptr<float>();
      norms_[i].eps = static_cast<float>(w.eps);
    }
  }

  at::Tensor forward(const at::Tensor& x_in, const at::Tensor& context_in) const override {
    const auto x = x_in.to(at::kFloat).contiguous();
    const auto context = context_in.to(at::kFloat).contiguous();
    const int64_t m = x.size(0), hidden = x.size(1);
    auto out = at::empty({m, hidden}, x.options());
    if (m == 0) return out.to(x_in.scalar_type());
    const int64_t block = std::min(m, int8_block_rows());
    TailScratch s(block, hidden, ffn_in_.out_features(), !ffn_out_);
    for (int64_t begin = 0; begin < m; begin += block) {
      const int64_t rows = std::min(block, m - begin);
      attention_output(context.data_ptr<float>() + begin * hidden,
                       x.data_ptr<float>() + begin * hidden, rows, s);
      feed_forward(rows, s, out.data_ptr<float>() + begin * hidden);
    }
    return out.to(x_in.scalar_type());
  }

 private:
  static std::vector<at::Tensor> to_float(std::vector<at::Tensor> ts) {
    for (auto& t : ts) t = t.detach().to(at::kFloat).contiguous();
    return ts;
  }

  // s.a = LN1(context Wo^T + bo + x) for ROWS rows.
  void attention_output(const float* context, const float* x, int64_t rows, TailScratch& s) const {
    attn_out_.quantize(context, rows, s.q_hidden);
    attn_out_.multiply(s.q_hidden, rows, s.acc.data_ptr<int32_t>());
    cpu::Int8Epilogue e = attn_out_.epilogue(s.acc.data_ptr<int32_t>(), s.q_hidden);
    e.residual = x;
    e.out = s.a.data_ptr<float>();
    attn_out_.finish(e, rows, &norms_[0]);
  }

  // OUT = LN2(act(s.a W1^T + b1) W2^T + b2 + s.a) for ROWS rows.
  void feed_forward(int64_t rows, TailScratch& s, float* out) const {
    ffn_in_.quantize(s.a.data_ptr<float>(), rows, s.q_hidden);
    ffn_in_.multiply(s.q_hidden, rows, s.acc.data_ptr<int32_t>());
    cpu::Int8Epilogue hidden = ffn_in_.epilogue(s.acc.data_ptr<int32_t>(), s.q_hidden);
    hidden.activation = activation_;
    if (!ffn_out_) return float_output(hidden, rows, s, out);
    ffn_out_->quantize_epilogue(hidden, rows, s.q_ffn);
    ffn_out_->multiply(s.q_ffn, rows, s.acc.data_ptr<int32_t>());
    cpu::Int8Epilogue e = ffn_out_->epilogue(s.acc.data_ptr<int32_t>(), s.q_ffn);
    e.residual = s.a.data_ptr<float>();
    e.out = out;
    ffn_out_->finish(e, rows, &norms_[1]);
  }

  // The 7-bit plans' W2 in fp32: the hidden rows as floats, oneDNN's fp32 product, LN2.
  void float_output(cpu::Int8Epilogue hidden, int64_t rows, TailScratch& s, float* out) const {
    hidden.out = s.h.data_ptr<float>();
    ffn_in_.finish(hidden, rows);
    const auto a = s.a.narrow(0, 0, rows);
    MatmulEpilogue residual;
    residual.addend = &a;
    const auto y = ffn_out_float_.forward(s.h.narrow(0, 0, rows), residual).contiguous();
    const int64_t cols = y.size(1);
    at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
      rows_.norm(y.data_ptr<float>() + begin * cols, end - begin, cols, norms_[1],
                 out + begin * cols);
    });
  }

  Int8Matmul attn_out_, ffn_in_;
  std::optional<Int8Matmul> ffn_out_;  // int8 W2, or ...
  Linear ffn_out_float_;               // ... fp32 W2 (7-bit plans)
  const cpu::Int8RowKernels& rows_;
  int activation_;              // as cpu::Int8Epilogue::activation
  std::vector<at::Tensor> ln_;  // LN1 weight, bias, LN2 weight, bias (float)
  cpu::RowNorm norms_[2];
};

}  // namespace

std::shared_ptr<const LayerTailBackend> make_int8_layer_tail(const LayerTailWeights& weights,
                                                             const KernelPlan& plan,
                                                             const LayerTailStats& stats) {
  return std::make_shared<Int8LayerTail>(weights, plan, stats);
}

#else  // !MTST_HAVE_DNNL

std::shared_ptr<const LayerTailBackend> make_int8_layer_tail(const LayerTailWeights&,
                                                             const KernelPlan&,
                                                             const LayerTailStats&) {
  throw Error(int8_support().why_not);
}

#endif

}  // namespace mtst
