// Data-parallel gradient exchange: after each rank's backward pass over its shard, the
// gradients of the trainable parameters are summed over ranks (the loss is already scaled by
// the whole step's denominators, see LossScale), in buckets of about BUCKET_BYTES. A
// parameter whose gradient exists on some rank but not here (its task had no rows on this
// rank) takes zeros first; one whose gradient exists nowhere keeps none, as in one process, so
// AdamW skips it alike. This is the reference path: GradientOverlap (gradient_overlap.h) starts
// the same sums during backward and is tested against it. Internal to src/train.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "mtst/distributed/communicator.h"

namespace mtst {

// Returns which parameters have a gradient on some rank.
std::vector<bool> sum_gradients(const std::vector<at::Tensor>& parameters,
                                Communicator& communicator, int64_t step, int64_t bucket_bytes);

}  // namespace mtst
