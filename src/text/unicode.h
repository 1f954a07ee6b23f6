// Code-point level helpers for the BERT tokenizer: lossy UTF-8 decoding/encoding and the
// character classes HF tokenizers uses (whitespace, control, punctuation, CJK, marks, lowercase).
// All Unicode data comes from utf8proc; nothing here knows about vocabularies, words or
// normalizer options. ASCII is answered without calling into utf8proc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mtst::text {

constexpr char32_t kReplacementChar = 0xFFFD;

// Appends the code points of `bytes` to `out`. Invalid UTF-8 never throws: each byte that does
// not begin a valid sequence (stray continuation byte, truncated sequence, overlong form,
// encoded surrogate, value above U+10FFFF, 0xC0/0xC1/0xF5..0xFF) becomes one U+FFFD and decoding
// resumes at the next byte.
void decode_utf8_lossy(std::string_view bytes, std::u32string* out);

// Appends the UTF-8 encoding of `cp` (assumed to be a valid scalar value) to `out`.
void append_utf8(char32_t cp, std::string* out);

// Encodes a whole code-point string as UTF-8.
std::string to_utf8(std::u32string_view text);

// Rust's char::is_whitespace (the Unicode White_Space property): \t \n \v \f \r, U+0085 and
// the categories Zs, Zl, Zp.
bool is_whitespace(char32_t cp);

// Note: HF takes Cc/Cf/Co, P* and Mn from the unicode_categories crate (Unicode 8-era tables);
// utf8proc here is Unicode 15, so only characters added or recategorised since then can differ.

// BertNormalizer's "control": categories Cc, Cf and Co, except \t \n \r.
bool is_control(char32_t cp);

// BertPreTokenizer's punctuation: ASCII punctuation (33-47, 58-64, 91-96, 123-126, which
// includes symbols such as $ + < = > ^ ` | ~) or any Unicode P* category.
bool is_punctuation(char32_t cp);

// The CJK ideograph ranges of HF tokenizers' BertNormalizer (Google BERT's list, with HF's
// Extension-E start at U+2B920 rather than U+2B820).
bool is_cjk_ideograph(char32_t cp);

// Category Mn (what strip_accents removes after NFD).
bool is_nonspacing_mark(char32_t cp);

// A "word" character for added tokens' single_word rule (approximates regex \w: letters,
// marks, decimal and letter numbers, connector punctuation, ZWNJ/ZWJ).
bool is_word_char(char32_t cp);

// Canonical combining class (0 for starters).
int combining_class(char32_t cp);

// Appends the full canonical decomposition (NFD, without reordering) of `cp` to `out`.
void append_canonical_decomposition(char32_t cp, std::u32string* out);

// Rust's char::to_lowercase(cp), written to out[0..n) and returning n (1 or 2): the simple
// lowercase mapping, except U+0130 (capital I with dot above), whose unconditional
// SpecialCasing mapping is "i" + U+0307.
size_t to_lowercase(char32_t cp, char32_t out[2]);

}  // namespace mtst::text
