// The whitelist of globals a state-dict pickle may name, and names of value kinds for messages.
// Adding an entry here is the only way to let the unpickler accept a new global.
#include "pickle_value.h"

namespace mtst::pickle {
namespace {

// Everything a plain (non-TorchScript, non-quantized, non-sparse) state dict refers to. Newer
// torch versions still pickle typed storage classes for these dtypes; only dtypes without such a
// class (uint16, float8...) use _rebuild_tensor_v3 and UntypedStorage, which are left out.
constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Callable::kOrderedDict, at::kFloat},
    {"torch._utils", "_rebuild_tensor", Callable::kRebuildTensor, at::kFloat},
    {"torch._utils", "_rebuild_tensor_v2", Callable::kRebuildTensorV2, at::kFloat},
    {"torch._utils", "_rebuild_parameter", Callable::kRebuildParameter, at::kFloat},
    {"torch._utils", "_rebuild_parameter_with_state", Callable::kRebuildParameterWithState,
     at::kFloat},
    {"torch", "FloatStorage", Callable::kStorageClass, at::kFloat},
    {"torch", "HalfStorage", Callable::kStorageClass, at::kHalf},
    {"torch", "BFloat16Storage", Callable::kStorageClass, at::kBFloat16},
    {"torch", "DoubleStorage", Callable::kStorageClass, at::kDouble},
    {"torch", "LongStorage", Callable::kStorageClass, at::kLong},
    {"torch", "IntStorage", Callable::kStorageClass, at::kInt},
    {"torch", "ShortStorage", Callable::kStorageClass, at::kShort},
    {"torch", "CharStorage", Callable::kStorageClass, at::kChar},
    {"torch", "ByteStorage", Callable::kStorageClass, at::kByte},
    {"torch", "BoolStorage", Callable::kStorageClass, at::kBool},
};

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "value";
}

const AllowedGlobal* find_allowed_global(std::string_view module, std::string_view name) {
  for (const AllowedGlobal& allowed : kAllowedGlobals) {
    if (module == allowed.module && name == allowed.name) return &allowed;
  }
  return nullptr;
}

}  // namespace mtst::pickle
