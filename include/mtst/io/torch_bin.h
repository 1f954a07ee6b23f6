// Reading `pytorch_model.bin` state dicts written by torch.save in the zip format (PyTorch >= 1.6)
// without executing any pickled code: the archive is read with libtorch's zip reader and data.pkl
// with mtst's restricted unpickler. Legacy (pre-1.6) pickles, TorchScript archives and tensors of
// dtypes beyond F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL are rejected, not converted.
#pragma once

#include <filesystem>

#include "mtst/io/tensor_map.h"

namespace mtst {

// Loads every tensor of the state dict as a contiguous CPU tensor in its stored dtype (tensors
// saved on a GPU load to the CPU). Throws mtst::Error naming the file and the problem: not a zip
// (with a hint to re-save with torch >= 1.6 or convert to safetensors), a corrupt archive, a
// missing or wrongly sized storage record, or a pickle that is not a plain state dict.
TensorMap read_torch_bin(const std::filesystem::path& path);

}  // namespace mtst
