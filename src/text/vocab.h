// A WordPiece vocabulary: token string <-> id, with hash lookup by std::string_view so that
// candidate pieces can be looked up without building a std::string each time. It does not read
// files (see tokenizer_files.h) and knows nothing about added/special tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mtst::text {

class Vocab {
 public:
  Vocab() = default;
  // The index holds views into tokens_, so a copy would dangle; moving is safe (the strings
  // themselves do not move when the vector's buffer changes hands).
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;
  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;

  // Builds from (token, id) pairs. Ids must be >= 0 and < 2^31. When a token appears twice,
  // the later id wins (what HF does when it reads vocab.txt into a hash map); an id that
  // appears twice keeps its first token for id -> token. Throws mtst::Error naming `source`
  // on a negative or oversized id or an empty vocabulary.
  static Vocab from_entries(std::vector<std::pair<std::string, int64_t>> entries,
                            const std::string& source);

  // The id of `token`, if present.
  std::optional<int64_t> find(std::string_view token) const {
    auto it = index_.find(token);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  // The token with this id, or nullptr for an id outside the vocabulary.
  const std::string* token(int64_t id) const;

  // Number of distinct tokens.
  size_t size() const { return index_.size(); }
  // One past the largest id.
  size_t id_bound() const { return tokens_.size(); }
  // Length in bytes of the longest token (bounds the WordPiece search).
  size_t max_token_bytes() const { return max_token_bytes_; }

 private:
  std::vector<std::string> tokens_;  // by id; "" for ids no token uses
  std::vector<bool> has_token_;      // by id
  std::deque<std::string> extra_;    // tokens whose id already names another token
  std::unordered_map<std::string_view, int64_t> index_;
  size_t max_token_bytes_ = 0;
};

}  // namespace mtst::text
