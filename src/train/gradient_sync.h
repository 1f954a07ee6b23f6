// Data-parallel gradient exchange: after each rank's backward pass over its shard, the
// gradients of the trainable parameters are summed over ranks (the loss is already scaled by
// the whole step's denominators, see LossScale), in buckets of at most kBucketBytes. A
// parameter whose gradient exists on some rank but not here (its task had no rows on this
// rank) takes zeros first; one whose gradient exists nowhere keeps none, as in one process, so
// AdamW skips it alike. Internal to src/train.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "mtst/dist/communicator.h"

namespace mtst {

inline constexpr int64_t kGradientBucketBytes = 25 << 20;

void sum_gradients(const std::vector<at::Tensor>& parameters, Communicator& communicator,
                   int64_t step);

}  // namespace mtst
