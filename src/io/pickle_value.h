// The value model of the restricted unpickler: the few Python object kinds a state-dict pickle
// builds, and the whitelist of globals it may name. Values do not own each other (the unpickler's
// arena owns them all), so no structure built from hostile input is ever destroyed recursively.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtst::pickle {

enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

// "int", "dict", ... for error messages.
const char* kind_name(Kind kind);

enum class Callable {
  kOrderedDict,
  kRebuildTensor,
  kRebuildTensorV2,
  kRebuildParameter,
  kRebuildParameterWithState,
  kStorageClass,
};

struct AllowedGlobal {
  const char* module;
  const char* name;
  Callable callable;
  at::ScalarType dtype;  // For kStorageClass only.
};

// The whitelist entry for `module.name`, or nullptr if that global is not allowed.
const AllowedGlobal* find_allowed_global(std::string_view module, std::string_view name);

// One loaded storage. The first tensor covering all of it may take it as is; every other tensor
// gets its own copy, so that returned tensors never alias each other.
struct StorageSlot {
  at::Tensor data;
  bool handed_out = false;
};

struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  std::int64_t number = 0;                         // kBool, kInt
  double real = 0;                                 // kFloat
  std::string text;                                // kString; "module.name" of a kGlobal
  std::vector<Value*> items;                       // kTuple, kList
  std::vector<std::pair<Value*, Value*>> entries;  // kDict, in insertion order
  const AllowedGlobal* global = nullptr;           // kGlobal
  StorageSlot* storage = nullptr;                  // kStorage
  at::Tensor tensor;                               // kTensor
};

}  // namespace mtst::pickle
