// BertPreTokenizer: whitespace split plus isolated punctuation, over code points.
// Produces index ranges only; no strings are built and nothing is normalized here.
#include "text/pre_tokenizer.h"

#include "text/unicode.h"

namespace mtst::text {

void bert_pre_tokenize(std::u32string_view text, std::vector<WordSpan>* words) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t word_begin = kNone;
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    const bool space = is_whitespace(cp);
    const bool punct = !space && is_punctuation(cp);
    if (!space && !punct) {
      if (word_begin == kNone) word_begin = i;
      continue;
    }
    if (word_begin != kNone) {
      words->push_back({word_begin, i});
      word_begin = kNone;
    }
    if (punct) words->push_back({i, i + 1});
  }
  if (word_begin != kNone) words->push_back({word_begin, text.size()});
}

}  // namespace mtst::text
