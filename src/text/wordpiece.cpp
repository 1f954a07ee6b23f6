// WordPiece greedy longest-match-first over one word; identical to HF tokenizers' WordPiece.
// Candidate pieces longer than the longest vocabulary entry are skipped, which cannot change
// the result. No normalization or word splitting happens here.
#include "text/wordpiece.h"

#include <utility>

#include "mtst/error.h"
#include "text/unicode.h"

namespace mtst::text {

WordPiece::WordPiece(Vocab vocab, WordPieceOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  const auto unk = vocab_.find(options_.unk_token);
  if (!unk) {
    throw Error(source + ": unk_token '" + options_.unk_token +
                "' is not in the vocabulary (expected the WordPiece vocabulary to contain it)");
  }
  unk_id_ = *unk;
}

void WordPiece::tokenize(std::u32string_view word, std::vector<int64_t>* ids,
                         Scratch* scratch) const {
  if (word.size() > options_.max_input_chars_per_word) {
    ids->push_back(unk_id_);
    return;
  }

  std::string& utf8 = scratch->utf8;
  std::vector<uint32_t>& offsets = scratch->offsets;
  std::string& key = scratch->key;
  utf8.clear();
  offsets.clear();
  for (char32_t cp : word) {
    offsets.push_back(static_cast<uint32_t>(utf8.size()));
    append_utf8(cp, &utf8);
  }
  offsets.push_back(static_cast<uint32_t>(utf8.size()));

  const std::string& prefix = options_.continuing_subword_prefix;
  const size_t max_bytes = vocab_.max_token_bytes();
  const size_t first_size = ids->size();
  const size_t n = word.size();
  size_t start = 0;
  while (start < n) {
    // The longest candidate that could possibly be in the vocabulary.
    const size_t budget =
        start == 0 ? max_bytes : (max_bytes > prefix.size() ? max_bytes - prefix.size() : 0);
    size_t end = n;
    while (end > start && offsets[end] - offsets[start] > budget) --end;

    bool found = false;
    for (; end > start; --end) {
      const std::string_view piece(utf8.data() + offsets[start], offsets[end] - offsets[start]);
      std::optional<int64_t> id;
      if (start == 0) {
        id = vocab_.find(piece);
      } else {
        key.assign(prefix);
        key.append(piece);
        id = vocab_.find(key);
      }
      if (id) {
        ids->push_back(*id);
        found = true;
        break;
      }
    }
    if (!found) {
      ids->resize(first_size);
      ids->push_back(unk_id_);
      return;
    }
    start = end;
  }
}

}  // namespace mtst::text
