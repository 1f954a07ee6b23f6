// libFuzzer target: tokenizer.json as downloaded from anywhere. Loading must either give a
// tokenizer that encodes a sentence with ids inside its vocabulary, or throw mtst::Error.
#include <cstdint>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = mtst::fuzz::scratch_dir();
  mtst::fuzz::write_bytes(dir / "tokenizer.json", data, size);
  mtst::fuzz::load_and_encode(dir, "Hello, world! The things.");
  return 0;
}
