// mtst::Tokenizer: a BERT WordPiece tokenizer that gives the same ids as Hugging Face tokenizers
// (BertNormalizer + BertPreTokenizer + WordPiece + the [CLS] A [SEP] post-processor, with added
// special tokens matched in the raw text). It does no padding, batching, pair encoding or
// decoding, and uses no torch types. Invalid UTF-8 handling: see the class comment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtst {

// Input is UTF-8. Invalid UTF-8 never throws or crashes: each byte that does not start a valid
// sequence (stray continuation byte, truncated sequence, overlong form, encoded surrogate,
// value above U+10FFFF, 0xF5..0xFF) is replaced by U+FFFD, exactly as if the caller had passed
// that character. HF's clean_text then deletes U+FFFD, so invalid bytes vanish without
// splitting the word they sit in ("ab\xFFcd" tokenizes like "abcd"). They do, however, prevent
// a special-token match, because special tokens are found before normalization
// ("[CL\xFFS]" is not [CLS]), as in HF.
//
// Immutable after loading; copies share the loaded data; all const methods are thread-safe.
class Tokenizer {
 public:
  // Loads DIR/tokenizer.json if present, else DIR/vocab.txt (+ DIR/tokenizer_config.json and
  // DIR/special_tokens_map.json if present). Throws mtst::Error naming the directory or file
  // when neither exists, a file is malformed, or the tokenizer is not a BERT WordPiece one.
  // tokenizer.json's own "truncation"/"padding" settings are ignored (see encode).
  static Tokenizer from_dir(const std::filesystem::path& dir);

  // [CLS] tokens [SEP] ids. max_length == 0: no truncation. Otherwise at most max_length ids,
  // truncating the text tokens on the right and keeping the final [SEP] (HF behaviour), and
  // *truncated (when given) says whether tokens were dropped. max_length == 1 gives just
  // [CLS] (HF would return [CLS][SEP], exceeding the limit; here the limit is a hard cap).
  // max_length == 2 gives [CLS][SEP]. With a max_length, a long text is tokenized in windows
  // (TokenStream): the same ids, in memory and time bounded by max_length, not by the text.
  std::vector<int64_t> encode(std::string_view utf8_text, size_t max_length = 0,
                              bool* truncated = nullptr) const;

  // Word pieces (strings) without [CLS]/[SEP], for debugging/tests. Special-token text found in
  // the input (e.g. "[MASK]") appears as that token.
  std::vector<std::string> tokenize(std::string_view utf8_text) const;

  int64_t pad_id() const;
  int64_t cls_id() const;
  int64_t sep_id() const;
  int64_t unk_id() const;

  // One past the largest id of the vocabulary and the added tokens (HF's len(tokenizer) for a
  // vocabulary without gaps): every id encode() returns is below it.
  size_t vocab_size() const;

  // tokenizer_config.json's model_max_length when present and sane (< 1e6), else 0.
  size_t model_max_length() const;

  // The token text for an id ("" when the id is unknown), and the id for a token text
  // (model vocabulary or added token).
  std::string id_to_token(int64_t id) const;
  std::optional<int64_t> token_to_id(std::string_view token) const;

  struct Impl;

 private:
  friend class TokenStream;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace mtst
