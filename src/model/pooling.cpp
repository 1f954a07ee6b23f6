// Masked pooling and L2 normalisation; the masked forms are why padding never leaks into a
// sentence embedding (the seed averaged over 512 padded positions).
#include "mtst/model/pooling.h"

#include <algorithm>

#include "mtst/error.h"

namespace mtst {

PoolingMode parse_pooling_mode(const std::string& name) {
  if (name == "mean" || name == "mean_tokens") return PoolingMode::kMean;
  if (name == "cls" || name == "cls_token") return PoolingMode::kCls;
  if (name == "max" || name == "max_tokens") return PoolingMode::kMax;
  if (name == "mean_sqrt_len" || name == "mean_sqrt_len_tokens") return PoolingMode::kMeanSqrtLen;
  throw Error("unknown pooling mode '" + name + "' (expected mean, cls, max or mean_sqrt_len)");
}

std::string pooling_mode_name(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::kCls:
      return "cls";
    case PoolingMode::kMax:
      return "max";
    case PoolingMode::kMean:
      return "mean";
    case PoolingMode::kMeanSqrtLen:
      return "mean_sqrt_len";
  }
  return "mean";
}

at::Tensor pool(const at::Tensor& hidden, const at::Tensor& attention_mask,
                const std::vector<PoolingMode>& modes) {
  if (modes.empty()) throw Error("pooling: no pooling mode given");
  auto h = hidden.to(at::kFloat);
  auto mask = attention_mask.to(at::kFloat).unsqueeze(-1);  // [B,T,1]
  std::vector<PoolingMode> ordered = modes;
  std::sort(ordered.begin(), ordered.end());  // sentence-transformers' concatenation order
  std::vector<at::Tensor> parts;
  for (PoolingMode mode : ordered) {
    switch (mode) {
      case PoolingMode::kCls:
        parts.push_back(h.select(1, 0));
        break;
      case PoolingMode::kMax:
        // Padding set to -1e9 before the max, as sentence-transformers does.
        parts.push_back(at::where(mask > 0, h, at::full({}, -1e9, h.options())).amax(1));
        break;
      case PoolingMode::kMean:
      case PoolingMode::kMeanSqrtLen: {
        auto sum = (h * mask).sum(1);
        auto count = mask.sum(1).clamp_min(1e-9);
        parts.push_back(mode == PoolingMode::kMean ? sum / count : sum / count.sqrt());
        break;
      }
    }
  }
  return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
}

at::Tensor l2_normalize(const at::Tensor& embeddings) {
  return embeddings / embeddings.norm(2, {1}, true).clamp_min(1e-12);
}

}  // namespace mtst
