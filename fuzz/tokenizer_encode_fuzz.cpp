// libFuzzer target: the BERT tokenizer (tests/fixtures/tokenizer, the real uncased vocabulary)
// on arbitrary bytes, valid UTF-8 or not. Invariants: [CLS] first, [SEP] last, every id inside
// the vocabulary, max_length respected; encoding never throws. Differential: TokenStream with
// tiny windows, fed in pieces whose sizes come from the input, gives the ids of the whole text
// truncated by hand.
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "mtst/text/token_stream.h"
#include "mtst/text/tokenizer.h"

namespace {

void check_invariants(const mtst::Tokenizer& tokenizer, const std::vector<int64_t>& ids,
                      size_t max_length) {
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

void check_stream(const mtst::Tokenizer& tokenizer, std::string_view text,
                  const std::vector<int64_t>& whole, size_t max_length, size_t window) {
  std::vector<int64_t> want = whole;
  if (want.size() > max_length) {
    want.resize(max_length - 1);
    want.push_back(tokenizer.sep_id());
  }
  mtst::TokenStream stream(tokenizer, max_length, window);
  for (size_t at = 0, step = 1; at < text.size(); at += step) {
    step = 1 + static_cast<unsigned char>(text[at]) % 7;  // piece sizes from the input itself
    if (!stream.feed(text.substr(at, step))) break;
  }
  if (stream.finish() != want) mtst::fuzz::invariant_broken();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mtst::Tokenizer tokenizer =
      mtst::Tokenizer::from_dir(MTST_FIXTURES_DIR "/tokenizer");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto whole = tokenizer.encode(text);
  check_invariants(tokenizer, whole, 0);
  check_invariants(tokenizer, tokenizer.encode(text, 8), 8);
  for (size_t window : {1, 3, 16}) check_stream(tokenizer, text, whole, 8, window);
  return 0;
}
