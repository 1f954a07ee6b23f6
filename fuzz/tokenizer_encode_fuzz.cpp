// libFuzzer target: the BERT tokenizer (tests/fixtures/tokenizer, the real uncased vocabulary)
// on arbitrary bytes, valid UTF-8 or not. Invariants: [CLS] first, [SEP] last, every id inside
// the vocabulary, max_length respected; encoding never throws.
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "mtst/text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mtst::Tokenizer tokenizer =
      mtst::Tokenizer::from_dir(MTST_FIXTURES_DIR "/tokenizer");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (size_t max_length : {size_t{0}, size_t{8}}) {
    const auto ids = tokenizer.encode(text, max_length);
    if (ids.size() < 2 || ids.front() != tokenizer.cls_id() || ids.back() != tokenizer.sep_id()) {
      mtst::fuzz::invariant_broken();
    }
    if (max_length > 0 && ids.size() > max_length) mtst::fuzz::invariant_broken();
    for (int64_t id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) {
        mtst::fuzz::invariant_broken();
      }
    }
  }
  return 0;
}
