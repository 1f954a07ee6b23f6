// libFuzzer target: tokenizer.json as downloaded from anywhere. Loading must either give a
// tokenizer that encodes a sentence with ids inside its vocabulary, or throw mtst::Error.
#include <cstdint>

#include "fuzz_util.h"
#include "mtst/error.h"
#include "mtst/text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = mtst::fuzz::scratch_dir();
  mtst::fuzz::write_bytes(dir / "tokenizer.json", data, size);
  try {
    const auto tokenizer = mtst::Tokenizer::from_dir(dir);
    for (int64_t id : tokenizer.encode("Hello, world! The things.")) {
      if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) {
        mtst::fuzz::invariant_broken();
      }
    }
  } catch (const mtst::Error&) {
  }
  return 0;
}
