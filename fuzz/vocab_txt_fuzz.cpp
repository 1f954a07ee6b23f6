// libFuzzer target: a vocab.txt-only tokenizer directory (the classic BERT layout), with a
// fuzzed vocab.txt and then a fuzzed tokenizer_config.json beside a valid vocab.txt. Loading
// must give a working tokenizer or throw mtst::Error.
#include <cstdint>
#include <filesystem>

#include "fuzz_util.h"
#include "mtst/error.h"
#include "mtst/text/tokenizer.h"

namespace {

void load_and_encode(const std::filesystem::path& dir) {
  try {
    const auto tokenizer = mtst::Tokenizer::from_dir(dir);
    for (int64_t id : tokenizer.encode("hello worlds, the a b!")) {
      if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) {
        mtst::fuzz::invariant_broken();
      }
    }
  } catch (const mtst::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = mtst::fuzz::scratch_dir();
  std::filesystem::remove(dir / "tokenizer_config.json");
  mtst::fuzz::write_bytes(dir / "vocab.txt", data, size);
  load_and_encode(dir);
  mtst::fuzz::write_text(dir / "vocab.txt", mtst::fuzz::kSmallVocab);
  mtst::fuzz::write_bytes(dir / "tokenizer_config.json", data, size);
  load_and_encode(dir);
  return 0;
}
