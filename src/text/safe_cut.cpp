// SafeCuts: the boundary rules of safe_cut.h, checked one position at a time.
#include "text/safe_cut.h"

#include "text/unicode.h"

namespace mtst::text {

namespace {

bool is_ascii_space(char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r'; }

}  // namespace

SafeCuts::SafeCuts(const NormalizerOptions& normalizer, const AddedTokenMatcher* raw_tokens,
                   bool punctuation_cuts, bool any_cuts)
    : chinese_(normalizer.handle_chinese_chars),
      punctuation_(punctuation_cuts),
      enabled_(any_cuts),
      raw_tokens_(raw_tokens),
      lookahead_(raw_tokens == nullptr ? 0 : raw_tokens->longest()) {}

bool SafeCuts::is_safe(std::u32string_view text, size_t cut) const {
  if (!enabled_ || cut == 0 || cut >= text.size()) return false;
  const char32_t before = text[cut - 1];
  const char32_t after = text[cut];
  const bool boundary = is_ascii_space(after) || (chinese_ && is_cjk_ideograph(after)) ||
                        (punctuation_ && before < 0x80 && after < 0x80 && is_punctuation(before));
  if (!boundary) return false;
  return raw_tokens_ == nullptr || !raw_tokens_->spans(text, cut);
}

size_t SafeCuts::last_in(std::u32string_view text, size_t from, size_t to) const {
  if (!enabled_) return 0;
  for (size_t cut = to; cut > from; --cut) {
    if (is_safe(text, cut)) return cut;
  }
  return 0;
}

}  // namespace mtst::text
