// Name-for-name loading of Hugging Face BERT weights into BertModel, and locating the weight
// file of a model directory. Known extras are handled on purpose: a "bert." key prefix is
// removed, pooler.* (the NSP/CLS pooler, unused by sentence embeddings) and the
// embeddings.position_ids / token_type_ids buffers are ignored. Anything else unexpected,
// missing or mis-shaped is reported in one error that lists every offending key.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mtst/io/tensor_map.h"
#include "mtst/model/bert.h"

namespace mtst {

struct WeightLoadReport {
  std::vector<std::string> ignored;  // known extras that were skipped
  bool stripped_bert_prefix = false;
};

WeightLoadReport load_bert_weights(BertModel& model, const TensorMap& tensors,
                                   const std::string& source);

// DIR/model.safetensors, else DIR/pytorch_model.bin; throws naming DIR when neither exists.
std::filesystem::path find_weight_file(const std::filesystem::path& dir);

// Reads a weight file by its extension (.safetensors or .bin).
TensorMap read_weight_file(const std::filesystem::path& path);

// The BERT pooler (pooler.dense.weight [H,H], pooler.dense.bias [H]) that mtst carries through
// unused: transformers 5 builds BertModel with it and reports a checkpoint without it as
// MISSING weights. Taken from CHECKPOINT (a "bert." prefix allowed, copied out of any mapping)
// when it holds both with the right shapes, else initialised as Hugging Face does (weight
// ~ N(0, 0.02) from SEED, bias 0).
TensorMap pooler_weights(const TensorMap& checkpoint, const BertConfig& config, uint64_t seed);

}  // namespace mtst
