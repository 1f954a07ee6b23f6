// Dropout whose mask comes from a counter-based hash (SplitMix64 of seed + element index)
// rather than ATen's CPU bernoulli_, which draws every element serially from one Mersenne
// Twister and took a third of a bf16 training step. Masks are the same for any thread count;
// each call takes its seed from the default CPU generator, so torch::manual_seed makes runs
// repeatable. Internal to src (src/ops).
#pragma once

#include <ATen/ATen.h>

namespace mtst {

// Training: zeroes each element with probability P and scales the rest by 1/(1-P); the
// backward pass applies the same mask. Not training, or P == 0: X unchanged.
at::Tensor hashed_dropout(const at::Tensor& x, double p, bool training);

}  // namespace mtst
