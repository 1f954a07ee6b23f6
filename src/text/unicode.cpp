// Code-point helpers over utf8proc: lossy UTF-8 decoding, encoding and character classes.
// Does not normalize or split text; see normalizer.cpp and pre_tokenizer.cpp for that.
#include "text/unicode.h"

#include <utf8proc.h>

#include <cstdint>

namespace mtst::text {
namespace {

utf8proc_category_t category(char32_t cp) {
  return static_cast<utf8proc_category_t>(
      utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->category);
}

bool is_ascii_alnum(char32_t cp) {
  return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}

}  // namespace

void decode_utf8_lossy(std::string_view bytes, std::u32string* out) {
  const auto* data = reinterpret_cast<const utf8proc_uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  size_t i = 0;
  while (i < size) {
    const utf8proc_uint8_t byte = data[i];
    if (byte < 0x80) {
      out->push_back(static_cast<char32_t>(byte));
      ++i;
      continue;
    }
    utf8proc_int32_t cp = -1;
    const utf8proc_ssize_t n =
        utf8proc_iterate(data + i, static_cast<utf8proc_ssize_t>(size - i), &cp);
    if (n > 0 && cp >= 0) {
      out->push_back(static_cast<char32_t>(cp));
      i += static_cast<size_t>(n);
    } else {
      // One replacement per offending byte; resynchronise on the next byte.
      out->push_back(kReplacementChar);
      ++i;
    }
  }
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(cp, &out);
  return out;
}

bool is_whitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  if (cp == 0x85) return true;
  const utf8proc_category_t c = category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x80) return cp < 0x20 || cp == 0x7F;
  const utf8proc_category_t c = category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO;
}

bool is_punctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t cp) {
  if (cp < 0x80) return false;
  return category(cp) == UTF8PROC_CATEGORY_MN;
}

bool is_word_char(char32_t cp) {
  if (cp < 0x80) return is_ascii_alnum(cp) || cp == '_';
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

int combining_class(char32_t cp) {
  if (cp < 0x300) return 0;  // No combining marks below U+0300.
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

void append_canonical_decomposition(char32_t cp, std::u32string* out) {
  if (cp < 0xC0) {  // Nothing below U+00C0 has a canonical decomposition.
    out->push_back(cp);
    return;
  }
  // The longest canonical decomposition in Unicode is 4 code points; 8 leaves headroom.
  utf8proc_int32_t buffer[8];
  int boundclass = 0;
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, 8,
                                                     UTF8PROC_DECOMPOSE, &boundclass);
  if (n <= 0 || n > 8) {  // Cannot happen for valid scalar values; keep the input unchanged.
    out->push_back(cp);
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) out->push_back(static_cast<char32_t>(buffer[i]));
}

size_t to_lowercase(char32_t cp, char32_t out[2]) {
  if (cp < 0x80) {
    out[0] = cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
    return 1;
  }
  if (cp == 0x130) {  // SpecialCasing.txt's only unconditional multi-char lowercase.
    out[0] = U'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace mtst::text
