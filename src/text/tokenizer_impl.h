// The loaded state behind mtst::Tokenizer (shared by tokenizer.cpp and token_stream.cpp):
// WordPiece, the normalizer, the added-token matchers and the special ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mtst/text/tokenizer.h"
#include "text/added_tokens.h"
#include "text/normalizer.h"
#include "text/safe_cut.h"
#include "text/wordpiece.h"

namespace mtst {

struct Tokenizer::Impl {
  Impl(text::WordPiece model, text::NormalizerOptions options)
      : wordpiece(std::move(model)), normalizer(options) {}
  Impl(const Impl&) = delete;  // `cuts` points into `raw_tokens`
  Impl& operator=(const Impl&) = delete;

  // Appends the ids of the code points RAW without [CLS]/[SEP].
  void encode_pieces(std::u32string_view raw, std::vector<int64_t>* ids) const;
  // The same from UTF-8.
  void encode_utf8(std::string_view utf8_text, std::vector<int64_t>* ids) const;

  text::WordPiece wordpiece;
  text::BertNormalizer normalizer;
  text::AddedTokenMatcher raw_tokens;         // normalized == false: matched before normalizing
  text::AddedTokenMatcher normalized_tokens;  // normalized == true: matched after normalizing
  text::SafeCuts cuts;                        // where a long text may be split (safe_cut.h)
  std::unordered_map<int64_t, std::string> added_by_id;
  std::unordered_map<std::string, int64_t> added_by_text;
  int64_t cls = 0;
  int64_t sep = 0;
  int64_t pad = 0;
  size_t id_bound = 0;
  size_t model_max_length = 0;
};

}  // namespace mtst
