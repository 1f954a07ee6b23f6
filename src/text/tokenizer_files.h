// Reads a Hugging Face tokenizer directory into a plain TokenizerSpec: tokenizer.json (model,
// added_tokens, normalizer, post_processor) or vocab.txt, plus tokenizer_config.json /
// special_tokens_map.json when present. Only BERT-style WordPiece tokenizers are accepted;
// anything else is rejected with an mtst::Error. Building the runtime objects is tokenizer.cpp's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "text/added_tokens.h"
#include "text/normalizer.h"
#include "text/wordpiece.h"

namespace mtst::text {

struct TokenizerSpec {
  std::string source;  // the file the vocabulary came from, for error messages
  std::vector<std::pair<std::string, int64_t>> vocab;
  WordPieceOptions wordpiece;
  NormalizerOptions normalizer;
  // Ids already resolved the HF way: the model vocabulary's id when the content is in it,
  // otherwise the id given in the file.
  std::vector<AddedToken> added_tokens;
  // Special tokens by text; an id set here (from the post-processor) takes precedence.
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::optional<int64_t> cls_id;
  std::optional<int64_t> sep_id;
  std::optional<int64_t> pad_id;
  size_t model_max_length = 0;  // 0: unknown / not sane
};

// Loads DIR/tokenizer.json if present, else DIR/vocab.txt; DIR/tokenizer_config.json (and, for
// vocab.txt, DIR/special_tokens_map.json) are read when present. Throws mtst::Error naming the
// directory or file and the key when something is missing, malformed or unsupported.
//
// Deliberately ignored: tokenizer.json's "truncation" and "padding" (Tokenizer::encode's
// max_length decides truncation; padding is the batcher's job), the decoder, pair templates,
// and tokenizer_config.json's do_basic_tokenize / never_split.
TokenizerSpec read_tokenizer_dir(const std::filesystem::path& dir);

}  // namespace mtst::text
