// The in-memory form of a checkpoint: tensors keyed by their state-dict name, ordered by name so
// that writers are deterministic and diffs of key sets read naturally. It carries no metadata
// and says nothing about devices or dtypes; readers and callers decide those.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace mtst {

// at::Tensor is the same type as torch::Tensor; the lighter ATen header keeps compiles fast.
using TensorMap = std::map<std::string, at::Tensor>;

}  // namespace mtst
