// libFuzzer target: the inputs of encode/predict, as a text file and as .jsonl ("text" fields).
// Each must return texts (a text file: one per line) or throw mtst::Error.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = mtst::fuzz::scratch_dir();
  for (const char* name : {"input.txt", "input.jsonl"}) {
    mtst::fuzz::write_bytes(dir / name, data, size);
    try {
      mtst::read_texts((dir / name).string());
    } catch (const mtst::Error&) {
    }
  }
  return 0;
}
