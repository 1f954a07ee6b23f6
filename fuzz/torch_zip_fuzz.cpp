// libFuzzer target: a whole pytorch_model.bin (the zip archive libtorch's reader opens, its
// records, data.pkl and the storages). Reading must either give contiguous tensors or throw
// mtst::Error; the zip reader's own exceptions must not escape.
#include <cstdint>

#include "fuzz_util.h"
#include "mtst/io/torch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = mtst::fuzz::scratch_dir() / "pytorch_model.bin";
  mtst::fuzz::write_bytes(path, data, size);
  try {
    for (const auto& [name, tensor] : mtst::read_torch_bin(path)) {
      if (!tensor.defined() || !tensor.is_contiguous()) mtst::fuzz::invariant_broken();
    }
  } catch (const mtst::Error&) {
  }
  return 0;
}
