// Reading and writing the safetensors format (8-byte little-endian header length, JSON header,
// raw little-endian tensor bytes). Reading validates every header field against the file and
// returns owned CPU tensors in the stored dtype; it does not cast, and it supports only the
// dtypes mtst uses (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL), not U16-U64 or the F8 types.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "mtst/io/tensor_map.h"

namespace mtst {

// Loads every tensor of a .safetensors file as a contiguous CPU tensor (copied out of a
// read-only mapping). Throws mtst::Error naming the file, the offending tensor or key, and the
// problem for anything malformed.
TensorMap read_safetensors(const std::filesystem::path& path);

// The header's `__metadata__` map (empty if absent), validated like read_safetensors validates
// the whole header, without copying any tensor data.
std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path);

// Writes `tensors` (any device, any layout; copied to contiguous CPU) in name order, atomically.
// The header is padded with spaces to a multiple of 8 bytes as the reference implementation does,
// and the data section has no gaps, so Python's safetensors accepts the file. Throws mtst::Error
// for an undefined tensor, an unsupported dtype, the reserved name `__metadata__`, or I/O errors.
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace mtst
