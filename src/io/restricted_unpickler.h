// A restricted unpickler for the `data.pkl` of a torch.save'd state dict. It interprets only the
// opcodes such a pickle uses and only a whitelist of globals (OrderedDict, torch's tensor rebuild
// functions and storage classes), and never imports or calls anything else: any other global or
// opcode is an mtst::Error naming it. Reading the zip archive around it is torch_bin.cpp's job.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mtst/io/tensor_map.h"

namespace mtst {

// Supplies the storage named by a persistent id ('storage', torch.<T>Storage, key, location,
// numel): a 1-D contiguous CPU tensor of `dtype` with exactly `numel` elements (the unpickler
// checks). It is called once per distinct (key, dtype).
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType dtype, std::int64_t numel)>;

// Interprets `pickle_bytes` and returns its top-level dict, whose keys must be strings and values
// tensors. Tensors are views of the loaded storages materialized as contiguous tensors that share
// memory with no other returned tensor. Attributes set on the dict by BUILD (`_metadata`) are
// ignored. Hostile input (stack underflow, bad memo index, truncation, absurd lengths, unknown
// opcodes or globals, views outside their storage) raises mtst::Error with the byte offset.
TensorMap unpickle_state_dict(std::string_view pickle_bytes, const StorageLoader& load_storage);

}  // namespace mtst
