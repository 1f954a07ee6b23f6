// TokenStream: UTF-8 decoding that holds back an unfinished character, then prefix-at-a-time
// tokenization at safe cuts until the text ends or max_length is known to be exceeded.
#include "mtst/text/token_stream.h"

#include <algorithm>

#include "text/tokenizer_impl.h"
#include "text/unicode.h"

namespace mtst {

namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Where BYTES may be split so that decoding the two parts gives the characters of the whole:
// before the last byte (of the final four) that is not a continuation byte, since a valid
// sequence never holds such a byte past its start. None there: the end.
size_t last_decodable(std::string_view bytes) {
  const size_t stop = bytes.size() >= 4 ? bytes.size() - 4 : 0;
  for (size_t i = bytes.size(); i > stop; --i) {
    if (!is_continuation_byte(bytes[i - 1])) return i - 1;
  }
  return bytes.size();
}

}  // namespace

TokenStream::TokenStream(const Tokenizer& tokenizer, size_t max_length, size_t window)
    : impl_(*tokenizer.impl_), max_length_(max_length), window_(std::max<size_t>(window, 1)) {
  ids_.push_back(impl_.cls);
  done_ = max_length_ == 1;  // only [CLS] fits
}

bool TokenStream::complete() const {
  // More text tokens than fit beside [CLS] and [SEP]: the result no longer depends on the rest.
  return max_length_ > 0 && ids_.size() >= max_length_;
}

void TokenStream::decode(std::string_view bytes) {
  std::string joined;  // the held-back bytes and these (a piece is at most a few windows)
  if (!pending_.empty()) {
    joined = pending_;
    joined.append(bytes);
    bytes = joined;
  }
  const size_t split = last_decodable(bytes);
  text::decode_utf8_lossy(bytes.substr(0, split), &buffer_);
  pending_.assign(bytes.substr(split));
}

void TokenStream::tokenize_prefix(size_t cut) {
  impl_.encode_pieces(std::u32string_view(buffer_).substr(0, cut), &ids_);
  buffer_.erase(0, cut);
  scanned_ = 0;
  if (complete()) {
    done_ = true;
    buffer_ = std::u32string();
    pending_.clear();
  }
}

void TokenStream::tokenize_ready() {
  const size_t lookahead = impl_.cuts.lookahead();
  while (!done_ && buffer_.size() >= window_ + lookahead + scanned_) {
    // The furthest safe cut with the look-ahead the added-token test needs.
    const size_t limit = buffer_.size() - lookahead;
    const size_t cut = impl_.cuts.last_in(buffer_, scanned_, std::min(limit, scanned_ + window_));
    if (cut == 0) {
      scanned_ = std::min(limit, scanned_ + window_);  // none yet: wait for more text
      continue;
    }
    tokenize_prefix(cut);
  }
}

bool TokenStream::feed(std::string_view bytes) {
  while (!done_ && !bytes.empty()) {
    // A window of bytes at a time, so a huge piece is never decoded whole.
    const size_t take = std::min(bytes.size(), window_ * 4);
    decode(bytes.substr(0, take));
    bytes.remove_prefix(take);
    tokenize_ready();
  }
  return !done_;
}

std::vector<int64_t> TokenStream::finish(bool* truncated) {
  if (!done_) {
    text::decode_utf8_lossy(pending_, &buffer_);  // an unfinished character: U+FFFD per byte
    pending_.clear();
    tokenize_prefix(buffer_.size());
  }
  const bool cut = max_length_ == 1 || (max_length_ > 0 && ids_.size() + 1 > max_length_);
  if (max_length_ != 1) {
    if (cut) ids_.resize(max_length_ - 1);
    ids_.push_back(impl_.sep);
  }
  if (truncated != nullptr) *truncated = cut;
  return std::move(ids_);
}

}  // namespace mtst
