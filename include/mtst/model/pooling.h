// Sentence pooling over token states, as sentence-transformers' Pooling module computes it:
// mean (attention-masked), cls, max (masked), mean_sqrt_len; several modes concatenate in
// sentence-transformers' order. Plus L2 normalisation (its Normalize module).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace mtst {

enum class PoolingMode { kCls, kMax, kMean, kMeanSqrtLen };

PoolingMode parse_pooling_mode(
    const std::string& name);  // "mean" | "cls" | "max" | "mean_sqrt_len"
std::string pooling_mode_name(PoolingMode mode);

// hidden [B,T,H] (any float dtype), attention_mask [B,T] -> [B, H * modes.size()] float32.
at::Tensor pool(const at::Tensor& hidden, const at::Tensor& attention_mask,
                const std::vector<PoolingMode>& modes);

// Row-wise L2 normalisation with the same epsilon as torch.nn.functional.normalize (1e-12).
at::Tensor l2_normalize(const at::Tensor& embeddings);

}  // namespace mtst
