// Where a long text may be cut so that tokenizing the two parts one after the other gives
// exactly the ids of the whole: what lets Tokenizer encode a huge text in bounded windows.
// A cut at position p (between text[p-1] and text[p]) is safe when every stage of the
// pipeline treats p as a boundary:
//  * text[p] is ASCII whitespace, or (handle_chinese_chars) a CJK ideograph, which the
//    normalizer pads with spaces; or text[p-1] is ASCII punctuation (a word of its own) and
//    text[p] is ASCII. In every case text[p] is a starter, so NFD reordering never crosses p,
//    and the pre-tokenizer and WordPiece see a word boundary there;
//  * no raw added token spans p, and no single_word one ends or starts at p
//    (AddedTokenMatcher::spans);
//  * normalized added tokens are matched after normalization, where only the whitespace and
//    CJK cuts are certain to be a space: with such tokens the punctuation cut is not used,
//    and when one of them holds whitespace or a CJK ideograph no cut is safe at all.
#pragma once

#include <cstddef>
#include <string_view>

#include "text/added_tokens.h"
#include "text/normalizer.h"

namespace mtst::text {

class SafeCuts {
 public:
  SafeCuts() = default;
  SafeCuts(const NormalizerOptions& normalizer, const AddedTokenMatcher* raw_tokens,
           bool punctuation_cuts, bool any_cuts);

  // Characters a caller must have past a candidate cut for the added-token test.
  size_t lookahead() const { return lookahead_; }

  // The largest safe cut p with from < p <= to, or 0 when there is none. TEXT must hold
  // lookahead() characters past TO (or be the whole rest of the text).
  size_t last_in(std::u32string_view text, size_t from, size_t to) const;

  bool is_safe(std::u32string_view text, size_t cut) const;

 private:
  bool chinese_ = true;
  bool punctuation_ = true;
  bool enabled_ = false;
  const AddedTokenMatcher* raw_tokens_ = nullptr;
  size_t lookahead_ = 0;
};

}  // namespace mtst::text
