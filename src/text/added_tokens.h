// Added tokens ([CLS], [SEP], [MASK], ... and user-added words) as HF tokenizers' AddedVocabulary
// extracts them: exact, case-sensitive matches, leftmost-longest, found before the rest of the
// text is normalized (or, for normalized tokens, in the normalized text), with the lstrip /
// rstrip / single_word rules. It does not normalize text or run WordPiece itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mtst::text {

// One entry of tokenizer.json's "added_tokens" (content is UTF-8).
struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false;  // match only when not inside a word
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = false;   // matched in normalized text (true) or in the raw input (false)
  bool special = true;
};

// A piece of a code-point string: text to tokenize further (id < 0) or one added token.
struct TextSegment {
  size_t begin = 0;
  size_t end = 0;
  int64_t id = -1;
};

// Finds one set of patterns (all raw or all normalized) in code-point strings.
class AddedTokenMatcher {
 public:
  // `pattern` is the token content as code points (for normalized tokens: after
  // normalization). Empty patterns are ignored.
  void add(std::u32string pattern, const AddedToken& token);

  bool empty() const { return patterns_.empty(); }

  // Appends segments covering `text` (in order, without gaps) to `out`; text segments are never
  // empty. Semantics of HF's AddedVocabulary::find_matches:
  //  * scanning left to right, take the longest pattern starting at the first position where
  //    any pattern starts; resume after it (matches never overlap);
  //  * single_word: a match preceded or followed by a word character is not a token, and the
  //    scan resumes after it;
  //  * lstrip / rstrip: the token's segment grows over adjacent whitespace (lstrip never
  //    reaches back into the previous token's segment).
  void split(std::u32string_view text, std::vector<TextSegment>* out) const;

  // Whether some pattern occurrence in TEXT would make position CUT (0 < CUT < size) matter
  // to split(): an occurrence spanning it, or for a single_word pattern one that ends or
  // starts there (its word-boundary test looks across CUT). TEXT must reach longest()
  // characters past CUT, or be the whole rest of the text.
  bool spans(std::u32string_view text, size_t cut) const;

  // The longest pattern, in code points (0 when there are none).
  size_t longest() const;

 private:
  struct Pattern {
    std::u32string text;
    int64_t id = 0;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
  };
  std::vector<Pattern> patterns_;
  // First code point -> indices into patterns_, longest pattern first.
  std::unordered_map<char32_t, std::vector<size_t>> by_first_;
  uint64_t ascii_first_[2] = {0, 0};  // bitmap of ASCII first code points, for a fast reject
};

}  // namespace mtst::text
