// Vocab: builds the id -> token table and the string_view hash index over it.
// File formats are parsed elsewhere (tokenizer_files.cpp); this only validates ids.
#include "text/vocab.h"

#include <algorithm>

#include "mtst/error.h"

namespace mtst::text {

Vocab Vocab::from_entries(std::vector<std::pair<std::string, int64_t>> entries,
                          const std::string& source) {
  if (entries.empty()) throw Error(source + ": the vocabulary is empty");
  constexpr int64_t kMaxId = (int64_t{1} << 31) - 1;
  int64_t max_id = -1;
  for (const auto& [token, id] : entries) {
    if (id < 0 || id > kMaxId) {
      throw Error(source + ": token '" + token + "' has id " + std::to_string(id) +
                  " (expected 0 <= id < 2^31)");
    }
    max_id = std::max(max_id, id);
  }

  Vocab vocab;
  const auto bound = static_cast<size_t>(max_id + 1);
  vocab.tokens_.resize(bound);
  vocab.has_token_.assign(bound, false);
  // Fill the table completely before indexing: the index keeps views into these strings.
  for (auto& [token, id] : entries) {
    const auto slot = static_cast<size_t>(id);
    if (vocab.has_token_[slot]) continue;
    vocab.has_token_[slot] = true;
    vocab.tokens_[slot] = token;
  }
  vocab.index_.reserve(entries.size());
  for (const auto& [token, id] : entries) {
    const auto slot = static_cast<size_t>(id);
    // Key the index with a view into the table when the table holds this very string;
    // otherwise (a second token with an already-used id) keep the string alive in `extra_`.
    std::string_view key = vocab.tokens_[slot];
    if (key != token) {
      vocab.extra_.push_back(token);
      key = vocab.extra_.back();
    }
    vocab.index_.insert_or_assign(key, id);
    vocab.max_token_bytes_ = std::max(vocab.max_token_bytes_, token.size());
  }
  return vocab;
}

const std::string* Vocab::token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return nullptr;
  if (!has_token_[static_cast<size_t>(id)]) return nullptr;
  return &tokens_[static_cast<size_t>(id)];
}

}  // namespace mtst::text
