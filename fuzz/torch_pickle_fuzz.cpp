// libFuzzer target: the data.pkl of a pytorch_model.bin, fed straight to the restricted
// unpickler (a zip around it would only slow the search down; torch_zip_fuzz covers the archive).
// Storages are zero-filled tensors of the size the pickle asks for, up to 1 MiB elements (the
// real loader refuses storages larger than the file). The unpickler must return string-keyed
// contiguous tensors or throw mtst::Error, and never return more bytes than its bound on copies.
#include <ATen/ATen.h>

#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "io/restricted_unpickler.h"

namespace {

constexpr int64_t kMaxStorageElements = int64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t storage_bytes = 0;
  mtst::StorageLoader loader = [&](const std::string&, at::ScalarType dtype, int64_t numel) {
    if (numel < 0 || numel > kMaxStorageElements) throw mtst::Error("storage too large");
    storage_bytes += numel * static_cast<int64_t>(c10::elementSize(dtype));
    return at::zeros({numel}, at::TensorOptions().dtype(dtype));
  };
  try {
    const auto state = mtst::unpickle_state_dict(
        std::string_view(reinterpret_cast<const char*>(data), size), loader);
    int64_t bytes = 0;
    for (const auto& [name, tensor] : state) {
      if (!tensor.defined() || !tensor.is_contiguous()) mtst::fuzz::invariant_broken();
      bytes += tensor.numel() * static_cast<int64_t>(tensor.element_size());
    }
    // Uncopied storages plus the bound on copies (restricted_unpickler.cpp: twice the storages'
    // bytes + 1 MiB).
    if (bytes > 3 * storage_bytes + (int64_t{1} << 20)) mtst::fuzz::invariant_broken();
  } catch (const mtst::Error&) {
  }
  return 0;
}
