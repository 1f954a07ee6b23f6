// BertNormalizer: clean_text, handle_chinese_chars, strip_accents and lowercase on code points.
// Works in two passes over one buffer (no per-char allocation); does not split words.
#include "text/normalizer.h"

#include <utility>

#include "text/unicode.h"

namespace mtst::text {
namespace {

// Appends the canonical decomposition of `cp` to `out`, moving each combining mark (non-zero
// combining class) left past marks of a higher class, as canonical reordering requires. `floor`
// is where this call's text starts in `out`; reordering never crosses it.
void append_nfd(char32_t cp, size_t floor, std::u32string* out) {
  const size_t first = out->size();
  append_canonical_decomposition(cp, out);
  for (size_t i = first; i < out->size(); ++i) {
    const int ccc = combining_class((*out)[i]);
    if (ccc == 0) continue;
    size_t j = i;
    while (j > floor && combining_class((*out)[j - 1]) > ccc) {
      std::swap((*out)[j - 1], (*out)[j]);
      --j;
    }
  }
}

}  // namespace

void BertNormalizer::normalize(std::u32string_view text, std::u32string* out) const {
  const size_t begin = out->size();
  out->reserve(begin + text.size() + 8);

  // Pass 1: clean_text, handle_chinese_chars and (for strip_accents) NFD.
  for (char32_t cp : text) {
    if (options_.clean_text) {
      if (cp == 0 || cp == kReplacementChar || is_control(cp)) continue;
      if (is_whitespace(cp)) cp = U' ';
    }
    const bool pad = options_.handle_chinese_chars && is_cjk_ideograph(cp);
    if (pad) out->push_back(U' ');
    if (options_.strip_accents && cp >= 0x80) {
      append_nfd(cp, begin, out);
    } else {
      out->push_back(cp);
    }
    if (pad) out->push_back(U' ');
  }

  if (!options_.strip_accents && !options_.lowercase) return;

  // Pass 2, in place: drop Mn marks (strip_accents), then lowercase what is left.
  size_t write = begin;
  size_t end = out->size();
  for (size_t read = begin; read < end; ++read) {
    const char32_t cp = (*out)[read];
    if (options_.strip_accents && is_nonspacing_mark(cp)) continue;
    if (!options_.lowercase) {
      (*out)[write++] = cp;
      continue;
    }
    char32_t lower[2];
    const size_t n = to_lowercase(cp, lower);
    if (n == 2 && write == read) {
      // No slack to expand into (only U+0130 with strip_accents off): open a gap.
      out->insert(out->begin() + static_cast<std::ptrdiff_t>(read) + 1, U' ');
      ++read;
      ++end;
    }
    for (size_t k = 0; k < n; ++k) (*out)[write++] = lower[k];
  }
  out->resize(write);
}

std::u32string BertNormalizer::normalize(std::u32string_view text) const {
  std::u32string out;
  normalize(text, &out);
  return out;
}

}  // namespace mtst::text
