// libFuzzer target: a .safetensors file as downloaded from anywhere (header length, JSON header,
// offsets, dtypes, shapes, data). Reading the metadata and the tensors must either succeed with
// tensors that match their header, or throw mtst::Error.
#include <cstdint>

#include "fuzz_util.h"
#include "mtst/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = mtst::fuzz::scratch_dir() / "model.safetensors";
  mtst::fuzz::write_bytes(path, data, size);
  try {
    mtst::read_safetensors_metadata(path);
    size_t bytes = 0;
    for (const auto& [name, tensor] : mtst::read_safetensors(path)) {
      if (!tensor.is_contiguous()) mtst::fuzz::invariant_broken();
      bytes += tensor.numel() * tensor.element_size();
    }
    if (bytes > size) mtst::fuzz::invariant_broken();  // no tensor data comes from nowhere
  } catch (const mtst::Error&) {
  }
  return 0;
}
