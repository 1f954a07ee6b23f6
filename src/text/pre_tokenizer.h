// BertPreTokenizer, as in HF tokenizers: splits normalized text into words on whitespace (which
// is dropped) and isolates every punctuation character as a word of its own. It neither
// normalizes nor looks words up in a vocabulary; see normalizer.h and wordpiece.h.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace mtst::text {

// A half-open range [begin, end) of code-point indices into the pre-tokenized text.
struct WordSpan {
  size_t begin = 0;
  size_t end = 0;
};

// Appends the words of `text` to `words`, in order. Never yields an empty word.
//  * whitespace: text::is_whitespace (Unicode White_Space, as Rust's char::is_whitespace);
//  * punctuation: text::is_punctuation (ASCII punctuation or Unicode P*), one word per char,
//    so "..." becomes three words and "don't" becomes "don", "'", "t".
// Symbols outside ASCII (category S*, e.g. U+20AC EURO SIGN) are ordinary word characters.
void bert_pre_tokenize(std::u32string_view text, std::vector<WordSpan>* words);

}  // namespace mtst::text
