// Token ids of one text that arrives in pieces (a line read from a file a buffer at a time),
// truncated to a max length, in memory bounded by a window rather than by the text: a 54 MB
// line costs a few windows, and once max_length tokens are known the rest of the text is not
// needed at all. The ids are exactly Tokenizer::encode(whole text, max_length): the text is
// tokenized a prefix at a time, cut only where tokenizing the parts separately cannot differ
// (see src/text/safe_cut.h). A text with no safe cut for a long stretch (one 10 MB "word")
// is held until one comes, so memory then grows with that stretch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mtst/text/tokenizer.h"

namespace mtst {

class TokenStream {
 public:
  // Code points tokenized per step (the tokenizer keeps buffers of this size between texts).
  static constexpr size_t kDefaultWindow = 8192;

  // MAX_LENGTH as in Tokenizer::encode (0: no truncation, and no early stop). WINDOW: code
  // points per step (tests use tiny ones).
  TokenStream(const Tokenizer& tokenizer, size_t max_length, size_t window = kDefaultWindow);

  // Appends the next bytes of the text (UTF-8; a character may be split across calls).
  // Returns false once the ids are complete: the text is known to be truncated, so the caller
  // may skip the rest of it.
  bool feed(std::string_view bytes);

  // [CLS] ... [SEP], as Tokenizer::encode; *truncated says whether tokens were dropped.
  std::vector<int64_t> finish(bool* truncated = nullptr);

 private:
  void decode(std::string_view bytes);
  void tokenize_ready();
  void tokenize_prefix(size_t cut);
  bool complete() const;

  const Tokenizer::Impl& impl_;
  size_t max_length_;
  size_t window_;
  std::string pending_;       // the bytes of a character not yet complete
  std::u32string buffer_;     // decoded, not yet tokenized
  size_t scanned_ = 0;        // no safe cut at positions <= scanned_ of buffer_
  std::vector<int64_t> ids_;  // [CLS] and the text's ids so far
  bool done_ = false;
};

}  // namespace mtst
