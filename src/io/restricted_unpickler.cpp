// The restricted unpickler behind read_torch_bin (see restricted_unpickler.h). It is a small stack
// machine over an arena of values: values refer to each other by raw pointer and the arena owns
// them all, so hostile nesting or reference cycles cannot cause deep recursion on destruction, and
// memory stays linear in the input (with a hard cap on the number of values). It supports only what
// torch.save writes for a state dict; it is not a general pickle implementation.
#include "restricted_unpickler.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mtst/error.h"
#include "pickle_opcodes.h"
#include "pickle_value.h"

namespace mtst {
namespace pickle {
namespace {

// Untrusted text for error messages: printable ASCII only, and not too long.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 120)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 120) out += "...";
  return out;
}

// A state dict of a few thousand tensors needs tens of thousands of values; this cap only bounds
// the memory a hostile pickle can make us allocate (a value is ~150 bytes).
constexpr std::size_t kMaxValues = std::size_t{1} << 22;

class Unpickler {
 public:
  Unpickler(std::string_view data, const StorageLoader& loader) : in_(data), loader_(loader) {}

  TensorMap run();

 private:
  // One function per opcode family; each executes op_ and returns true if op_ is one of its own.
  bool control_op();
  bool scalar_op();
  bool container_op();
  bool memo_op();
  bool object_op();

  [[noreturn]] void fail(const std::string& what) const { in_.fail(what); }

  // Values and the stack.
  Value* make(Kind kind);
  Value* make_string(std::string_view text);
  Value* make_int(std::int64_t number);
  void push(Value* value) { stack_.push_back(value); }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* pop();
  Value* top();
  std::vector<Value*> pop_mark();
  void memo_put(std::uint64_t index);
  Value* memo_get(std::uint64_t index);

  // Semantics.
  Value* find_global(std::string_view module, std::string_view name);
  Value* reduce(Value* callable, Value* args);
  Value* persistent_load(Value* pid);
  Value* rebuild_tensor(const std::vector<Value*>& args);
  std::int64_t int_arg(Value* value, const char* what);
  std::vector<std::int64_t> int_tuple_arg(Value* value, const char* what);
  Value* expect(Value* value, Kind kind, const char* what);
  TensorMap finish(Value* result);
  // Counts a copy of TENSOR against the copy budget (fails past it) and returns the copy.
  at::Tensor charged_clone(const at::Tensor& tensor, const std::string& what);

  OpcodeReader in_;
  const StorageLoader& loader_;
  std::uint8_t op_ = 0;  // The opcode being executed.
  std::vector<std::unique_ptr<Value>> arena_;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value*> memo_;
  std::map<std::pair<std::string, at::ScalarType>, StorageSlot> storages_;
  // Bytes of the storages loaded, and of the copies made from them (views that cannot share
  // their storage, tensors pickled under two names). Copies may add up to twice the storages
  // (tied weights are one extra copy): views of a tiny storage repeated many times, or one
  // tensor memoized under thousands of names, would otherwise allocate without bound.
  std::uint64_t storage_bytes_ = 0;
  std::uint64_t copied_bytes_ = 0;
};

at::Tensor Unpickler::charged_clone(const at::Tensor& tensor, const std::string& what) {
  const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
  constexpr std::uint64_t kSlack = 1 << 20;
  copied_bytes_ += bytes;
  if (copied_bytes_ > 2 * storage_bytes_ + kSlack) {
    fail(what + " would copy " + std::to_string(copied_bytes_) + " bytes in all from " +
         std::to_string(storage_bytes_) +
         " bytes of storages (a state dict copies at most twice its storages)");
  }
  return tensor.clone(at::MemoryFormat::Contiguous);
}

Value* Unpickler::make(Kind kind) {
  if (arena_.size() >= kMaxValues) fail("pickle holds too many objects for a state dict");
  arena_.push_back(std::make_unique<Value>(kind));
  return arena_.back().get();
}

Value* Unpickler::make_string(std::string_view text) {
  Value* value = make(Kind::kString);
  value->text.assign(text.data(), text.size());
  return value;
}

Value* Unpickler::make_int(std::int64_t number) {
  Value* value = make(Kind::kInt);
  value->number = number;
  return value;
}

Value* Unpickler::pop() {
  if (stack_.size() <= floor()) fail("stack underflow");
  Value* value = stack_.back();
  stack_.pop_back();
  return value;
}

Value* Unpickler::top() {
  if (stack_.size() <= floor()) fail("stack underflow");
  return stack_.back();
}

std::vector<Value*> Unpickler::pop_mark() {
  if (marks_.empty()) fail("no MARK on the stack");
  std::size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

void Unpickler::memo_put(std::uint64_t index) { memo_[index] = top(); }

Value* Unpickler::memo_get(std::uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo index " + std::to_string(index) + " is not defined");
  return it->second;
}

Value* Unpickler::find_global(std::string_view module, std::string_view name) {
  if (const AllowedGlobal* allowed = find_allowed_global(module, name)) {
    Value* value = make(Kind::kGlobal);
    value->global = allowed;
    value->text = std::string(module) + "." + std::string(name);
    return value;
  }
  fail("global '" + printable(module) + "." + printable(name) +
       "' is not allowed: only tensors in (Ordered)dicts can be loaded, and this checkpoint refers "
       "to other Python objects (convert it to safetensors with Python if it is trusted)");
}

Value* Unpickler::expect(Value* value, Kind kind, const char* what) {
  if (value->kind != kind) {
    fail(std::string(what) + " is a " + kind_name(value->kind) + ", expected a " + kind_name(kind));
  }
  return value;
}

std::int64_t Unpickler::int_arg(Value* value, const char* what) {
  return expect(value, Kind::kInt, what)->number;
}

std::vector<std::int64_t> Unpickler::int_tuple_arg(Value* value, const char* what) {
  std::vector<std::int64_t> out;
  for (Value* item : expect(value, Kind::kTuple, what)->items) {
    std::int64_t number = int_arg(item, what);
    if (number < 0) fail(std::string(what) + " has a negative entry " + std::to_string(number));
    out.push_back(number);
  }
  return out;
}

Value* Unpickler::persistent_load(Value* pid) {
  const char* kShape = "persistent id ('storage', storage class, key, location, numel)";
  if (pid->kind != Kind::kTuple || pid->items.size() != 5) {
    fail(std::string("expected a ") + kShape + ", got a " + kind_name(pid->kind) +
         (pid->kind == Kind::kTuple ? " of " + std::to_string(pid->items.size()) : ""));
  }
  const std::vector<Value*>& parts = pid->items;
  if (parts[0]->kind != Kind::kString || parts[0]->text != "storage") {
    fail(std::string("first element of the ") + kShape + " is not 'storage'");
  }
  Value* storage_class = expect(parts[1], Kind::kGlobal, "the storage class");
  if (storage_class->global->callable != Callable::kStorageClass) {
    fail("'" + storage_class->text + "' is not a storage class");
  }
  const std::string& key = expect(parts[2], Kind::kString, "the storage key")->text;
  expect(parts[3], Kind::kString, "the storage location");  // Any device: we load to CPU.
  const std::int64_t numel = int_arg(parts[4], "the storage numel");
  if (numel < 0) fail("storage '" + printable(key) + "' has negative numel");
  const at::ScalarType dtype = storage_class->global->dtype;

  auto [slot, inserted] = storages_.try_emplace({key, dtype});
  if (inserted) {
    at::Tensor data = loader_(key, dtype, numel);
    if (!data.defined() || data.scalar_type() != dtype || data.dim() != 1 ||
        data.numel() != numel || !data.is_contiguous() || !data.device().is_cpu()) {
      storages_.erase(slot);
      fail("storage loader returned a tensor that is not a 1-D contiguous CPU " +
           std::string(c10::toString(dtype)) + " tensor of " + std::to_string(numel) +
           " elements for storage '" + printable(key) + "'");
    }
    slot->second.data = std::move(data);
    storage_bytes_ += static_cast<std::uint64_t>(numel) * slot->second.data.element_size();
  } else if (slot->second.data.numel() != numel) {
    fail("storage '" + printable(key) + "' is referenced with numel " + std::to_string(numel) +
         " and " + std::to_string(slot->second.data.numel()));
  }
  Value* value = make(Kind::kStorage);
  value->storage = &slot->second;
  return value;
}

Value* Unpickler::rebuild_tensor(const std::vector<Value*>& args) {
  StorageSlot& storage = *expect(args[0], Kind::kStorage, "the tensor's storage")->storage;
  const std::int64_t offset = int_arg(args[1], "storage_offset");
  const std::vector<std::int64_t> sizes = int_tuple_arg(args[2], "size");
  const std::vector<std::int64_t> strides = int_tuple_arg(args[3], "stride");
  if (offset < 0) fail("negative storage_offset " + std::to_string(offset));
  if (sizes.size() != strides.size()) {
    fail("size has " + std::to_string(sizes.size()) + " dims but stride has " +
         std::to_string(strides.size()));
  }
  const std::int64_t storage_numel = storage.data.numel();
  bool empty = false;
  std::int64_t last = offset;  // Element index of the view's last element.
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::int64_t reach = 0;
    if (sizes[i] == 0) empty = true;
    if (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
                         __builtin_add_overflow(last, reach, &last))) {
      fail("tensor view is too large");
    }
  }
  Value* value = make(Kind::kTensor);
  if (empty) {
    value->tensor = at::empty(sizes, storage.data.options());
    return value;
  }
  if (last >= storage_numel) {
    fail("tensor view (offset " + std::to_string(offset) + ", " + std::to_string(sizes.size()) +
         " dims) reaches element " + std::to_string(last) + " of a storage of " +
         std::to_string(storage_numel) + " elements");
  }
  at::Tensor view = storage.data.as_strided(sizes, strides, offset);
  if (view.numel() > storage_numel) {
    fail("tensor view of " + std::to_string(view.numel()) + " elements over a storage of " +
         std::to_string(storage_numel) +
         " elements (overlapping strides; a state dict never holds such a view)");
  }
  if (!storage.handed_out && offset == 0 && view.numel() == storage_numel && view.is_contiguous()) {
    storage.handed_out = true;
    value->tensor = view;
  } else {
    value->tensor = charged_clone(view, "tensor view");
  }
  return value;
}

Value* Unpickler::reduce(Value* callable, Value* args) {
  if (callable->kind != Kind::kGlobal) {
    fail(std::string("cannot call a ") + kind_name(callable->kind));
  }
  const std::vector<Value*>& a = expect(args, Kind::kTuple, "the REDUCE arguments")->items;
  auto arity = [&](std::size_t low, std::size_t high) {
    if (a.size() < low || a.size() > high) {
      fail(callable->text + " called with " + std::to_string(a.size()) + " arguments");
    }
  };
  switch (callable->global->callable) {
    case Callable::kOrderedDict:
      arity(0, 0);
      return make(Kind::kDict);
    case Callable::kRebuildTensor:
      arity(4, 4);
      return rebuild_tensor(a);
    case Callable::kRebuildTensorV2:
      // requires_grad, backward_hooks and metadata do not matter for loading weights.
      arity(6, 7);
      return rebuild_tensor(a);
    case Callable::kRebuildParameter:
      arity(3, 3);
      return expect(a[0], Kind::kTensor, "the parameter's data");
    case Callable::kRebuildParameterWithState:
      arity(4, 4);
      return expect(a[0], Kind::kTensor, "the parameter's data");
    case Callable::kStorageClass:
      break;
  }
  fail(callable->text + " cannot be called; storages come only from persistent ids");
}

TensorMap Unpickler::finish(Value* result) {
  if (result->kind != Kind::kDict) {
    fail(std::string("the pickle holds a ") + kind_name(result->kind) + ", not a state dict");
  }
  TensorMap out;
  std::set<const void*> seen;  // A tensor object pickled under two names is memoized once.
  for (const auto& [key, value] : result->entries) {
    if (key->kind != Kind::kString) {
      fail(std::string("state dict key is a ") + kind_name(key->kind) + ", not a str");
    }
    if (value->kind != Kind::kTensor) {
      fail("state dict entry '" + printable(key->text) + "' is a " + kind_name(value->kind) +
           ", not a tensor");
    }
    at::Tensor tensor = value->tensor;
    if (!seen.insert(tensor.unsafeGetTensorImpl()).second) {
      tensor = charged_clone(tensor, "state dict entry '" + printable(key->text) + "'");
    }
    out[key->text] = std::move(tensor);
  }
  return out;
}

// Protocol, framing and marks. Returns false when op_ is not of this family.
bool Unpickler::control_op() {
  switch (op_) {
    case kProto: {
      std::uint8_t version = in_.u8();
      if (version > 5) fail("unsupported pickle protocol " + std::to_string(version));
      return true;
    }
    case kFrame:
      in_.le(8);  // Framing only helps buffered readers; the whole pickle is in memory.
      return true;
    case kMark:
      marks_.push_back(stack_.size());
      return true;
    case kPop:
      if (stack_.size() > floor()) {
        stack_.pop_back();
      } else {
        pop_mark();
      }
      return true;
    case kPopMark:
      pop_mark();
      return true;
    default:
      return false;
  }
}

// None, booleans, integers, floats and strings. Returns false when op_ is not of this family.
bool Unpickler::scalar_op() {
  switch (op_) {
    case kNone:
      push(make(Kind::kNone));
      return true;
    case kNewTrue:
    case kNewFalse: {
      Value* value = make(Kind::kBool);
      value->number = op_ == kNewTrue;
      push(value);
      return true;
    }
    case kBinInt:
      push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(in_.le(4)))));
      return true;
    case kBinInt1:
      push(make_int(in_.u8()));
      return true;
    case kBinInt2:
      push(make_int(static_cast<std::int64_t>(in_.le(2))));
      return true;
    case kLong1: {
      std::uint8_t n = in_.u8();
      if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
      std::uint64_t bits = n == 0 ? 0 : in_.le(n);
      if (n > 0 && n < 8 && ((bits >> (8 * n - 1)) & 1)) bits |= ~std::uint64_t{0} << (8 * n);
      push(make_int(static_cast<std::int64_t>(bits)));
      return true;
    }
    case kBinFloat: {
      std::string_view bytes = in_.bytes(8);
      std::uint64_t bits = 0;
      for (char c : bytes) bits = (bits << 8) | static_cast<std::uint8_t>(c);  // Big-endian.
      Value* value = make(Kind::kFloat);
      std::memcpy(&value->real, &bits, sizeof(bits));
      push(value);
      return true;
    }
    case kShortBinUnicode:
      push(make_string(in_.bytes(in_.u8())));
      return true;
    case kBinUnicode:
      push(make_string(in_.bytes(in_.le(4))));
      return true;
    case kBinUnicode8:
      push(make_string(in_.bytes(in_.le(8))));
      return true;
    default:
      return false;
  }
}

// Tuples, lists and dicts. Returns false when op_ is not of this family.
bool Unpickler::container_op() {
  switch (op_) {
    case kEmptyTuple:
      push(make(Kind::kTuple));
      return true;
    case kTuple1:
    case kTuple2:
    case kTuple3: {
      const std::size_t n = op_ - kTuple1 + 1;
      if (stack_.size() < floor() + n) fail("stack underflow");
      Value* tuple = make(Kind::kTuple);
      tuple->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
      stack_.resize(stack_.size() - n);
      push(tuple);
      return true;
    }
    case kTuple:
    case kList: {
      std::vector<Value*> items = pop_mark();
      Value* sequence = make(op_ == kTuple ? Kind::kTuple : Kind::kList);
      sequence->items = std::move(items);
      push(sequence);
      return true;
    }
    case kEmptyList:
      push(make(Kind::kList));
      return true;
    case kEmptyDict:
      push(make(Kind::kDict));
      return true;
    case kDict:
    case kSetItems: {
      std::vector<Value*> items = pop_mark();
      if (items.size() % 2 != 0) fail("odd number of items for a dict");
      Value* dict = op_ == kDict ? make(Kind::kDict) : expect(top(), Kind::kDict, "the target");
      for (std::size_t i = 0; i < items.size(); i += 2) {
        dict->entries.emplace_back(items[i], items[i + 1]);
      }
      if (op_ == kDict) push(dict);
      return true;
    }
    case kSetItem: {
      Value* value = pop();
      Value* key = pop();
      expect(top(), Kind::kDict, "the SETITEM target")->entries.emplace_back(key, value);
      return true;
    }
    case kAppend: {
      Value* value = pop();
      expect(top(), Kind::kList, "the APPEND target")->items.push_back(value);
      return true;
    }
    case kAppends: {
      std::vector<Value*> items = pop_mark();
      Value* list = expect(top(), Kind::kList, "the APPENDS target");
      list->items.insert(list->items.end(), items.begin(), items.end());
      return true;
    }
    default:
      return false;
  }
}

// The memo: PUT and GET. Returns false when op_ is not of this family.
bool Unpickler::memo_op() {
  switch (op_) {
    case kBinPut:
      memo_put(in_.u8());
      return true;
    case kLongBinPut:
      memo_put(in_.le(4));
      return true;
    case kMemoize:
      memo_put(memo_.size());
      return true;
    case kBinGet:
      push(memo_get(in_.u8()));
      return true;
    case kLongBinGet:
      push(memo_get(in_.le(4)));
      return true;
    default:
      return false;
  }
}

// Globals, calls, BUILD and persistent ids (storages). Returns false when op_ is not of this
// family.
bool Unpickler::object_op() {
  switch (op_) {
    case kGlobal: {
      std::string_view module = in_.line();
      std::string_view name = in_.line();
      push(find_global(module, name));
      return true;
    }
    case kStackGlobal: {
      Value* name = expect(pop(), Kind::kString, "the STACK_GLOBAL name");
      Value* module = expect(pop(), Kind::kString, "the STACK_GLOBAL module");
      push(find_global(module->text, name->text));
      return true;
    }
    case kReduce: {
      Value* args = pop();
      Value* callable = pop();
      push(reduce(callable, args));
      return true;
    }
    case kBuild: {
      pop();  // The state: for an OrderedDict, attributes such as _metadata, which we drop.
      Value* target = top();
      if (target->kind != Kind::kDict && target->kind != Kind::kTensor) {
        fail(std::string("BUILD on a ") + kind_name(target->kind) + " is not supported");
      }
      return true;
    }
    case kBinPersId:
      push(persistent_load(pop()));
      return true;
    default:
      return false;
  }
}

TensorMap Unpickler::run() {
  while (true) {
    op_ = in_.next_opcode();
    if (op_ == kStop) return finish(pop());
    if (!(control_op() || scalar_op() || container_op() || memo_op() || object_op())) {
      fail("opcode not supported by this restricted unpickler");
    }
  }
}

}  // namespace
}  // namespace pickle

TensorMap unpickle_state_dict(std::string_view pickle_bytes, const StorageLoader& load_storage) {
  pickle::Unpickler unpickler(pickle_bytes, load_storage);
  return unpickler.run();
}

}  // namespace mtst
