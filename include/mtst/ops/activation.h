// The feed-forward activations mtst computes (BERT's "hidden_act"), shared by the model config
// and the kernels that fuse them into a matrix product.
#pragma once

namespace mtst {

enum class Activation { kGeluErf, kGeluTanh, kRelu };

}  // namespace mtst
