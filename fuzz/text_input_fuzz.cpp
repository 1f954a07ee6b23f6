// libFuzzer target: the inputs of encode/predict, as a text file and as .jsonl ("text" fields).
// Each must return texts (a text file: one per line) or throw mtst::Error. Differential: the
// shards K/N of a file, read one after the other, hold exactly the texts of the whole file.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = mtst::fuzz::scratch_dir();
  for (const char* name : {"input.txt", "input.jsonl"}) {
    mtst::fuzz::write_bytes(dir / name, data, size);
    const std::string path = (dir / name).string();
    std::vector<std::string> whole;
    try {
      whole = mtst::read_texts(path);
    } catch (const mtst::Error&) {
      continue;
    }
    for (size_t count : {2, 3, 7}) {
      std::vector<std::string> joined;
      for (size_t k = 0; k < count; ++k) {
        for (auto& text : mtst::read_texts(path, {k, count})) joined.push_back(std::move(text));
      }
      if (joined != whole) mtst::fuzz::invariant_broken();
    }
  }
  return 0;
}
