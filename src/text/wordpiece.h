// The WordPiece model of HF tokenizers: greedy longest-match-first segmentation of one
// pre-tokenized word into vocabulary pieces, with a continuing-subword prefix ("##").
// It does not normalize or split text into words, and never sees added/special tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace mtst::text {

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
};

class WordPiece {
 public:
  // Reusable buffers, so that tokenizing a word allocates nothing once they have grown.
  struct Scratch {
    std::string utf8;               // the word as UTF-8
    std::vector<uint32_t> offsets;  // byte offset of each code point, plus the end
    std::string key;                // prefix + candidate piece
  };

  // Throws mtst::Error naming `source` when the unk token is not in the vocabulary.
  WordPiece(Vocab vocab, WordPieceOptions options, const std::string& source);

  const Vocab& vocab() const { return vocab_; }
  const WordPieceOptions& options() const { return options_; }
  int64_t unk_id() const { return unk_id_; }

  // Appends the ids for one word (code points, already normalized, non-empty) to `ids`:
  //  * more than max_input_chars_per_word code points -> the unk id alone;
  //  * otherwise, from the left, the longest vocabulary entry that matches (pieces after the
  //    first are looked up with the continuing-subword prefix); if some position has no match
  //    at all, the whole word becomes the unk id alone.
  void tokenize(std::u32string_view word, std::vector<int64_t>* ids, Scratch* scratch) const;

 private:
  Vocab vocab_;
  WordPieceOptions options_;
  int64_t unk_id_ = 0;
};

}  // namespace mtst::text
