// BertNormalizer, as in HF tokenizers: clean_text, handle_chinese_chars, strip_accents (NFD then
// drop Mn) and lowercase, applied in that order to a code-point string. It does not split text
// into words and does not know about special tokens; see pre_tokenizer.h and added_tokens.h.
#pragma once

#include <string>
#include <string_view>

namespace mtst::text {

struct NormalizerOptions {
  bool clean_text = true;  // Drop NUL, U+FFFD, Cc/Cf/Co (but \t \n \r); whitespace -> ' '.
  bool handle_chinese_chars = true;  // Put ' ' on both sides of each CJK ideograph.
  bool strip_accents = true;         // NFD, then drop category Mn. (HF: null means = lowercase.)
  bool lowercase = true;             // Rust char::to_lowercase, which may expand (U+0130).
};

class BertNormalizer {
 public:
  BertNormalizer() = default;
  explicit BertNormalizer(const NormalizerOptions& options) : options_(options) {}

  const NormalizerOptions& options() const { return options_; }

  // Appends the normalized form of `text` to `out` (which must not alias `text`).
  //
  // Steps, exactly in HF's order:
  //  1. clean_text: filter first, then map, so \v \f U+0085 (controls that are also White_Space)
  //     are removed rather than turned into spaces.
  //  2. handle_chinese_chars.
  //  3. strip_accents: canonical decomposition plus canonical reordering of combining marks,
  //     then removal of Mn. Compatibility forms (U+FB01 "fi", full-width letters, U+01C5) stay.
  //  4. lowercase: per char, after accent stripping.
  void normalize(std::u32string_view text, std::u32string* out) const;

  // Convenience for tests and for normalizing added-token contents.
  std::u32string normalize(std::u32string_view text) const;

 private:
  NormalizerOptions options_;
};

}  // namespace mtst::text
