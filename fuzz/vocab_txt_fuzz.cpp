// libFuzzer target: a vocab.txt-only tokenizer directory (the classic BERT layout), with a
// fuzzed vocab.txt and then a fuzzed tokenizer_config.json beside a valid vocab.txt. Loading
// must give a working tokenizer or throw mtst::Error.
#include <cstdint>
#include <filesystem>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = mtst::fuzz::scratch_dir();
  std::filesystem::remove(dir / "tokenizer_config.json");
  mtst::fuzz::write_bytes(dir / "vocab.txt", data, size);
  mtst::fuzz::load_and_encode(dir, "hello worlds, the a b!");
  mtst::fuzz::write_text(dir / "vocab.txt", mtst::fuzz::kSmallVocab);
  mtst::fuzz::write_bytes(dir / "tokenizer_config.json", data, size);
  mtst::fuzz::load_and_encode(dir, "hello worlds, the a b!");
  return 0;
}
