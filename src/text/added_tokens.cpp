// AddedTokenMatcher: leftmost-longest literal matching of added tokens with HF's strip rules.
// A first-code-point table keeps the scan cheap; no normalization happens here.
#include "text/added_tokens.h"

#include <algorithm>
#include <utility>

#include "text/unicode.h"

namespace mtst::text {

void AddedTokenMatcher::add(std::u32string pattern, const AddedToken& token) {
  if (pattern.empty()) return;
  const char32_t first = pattern[0];
  Pattern p;
  p.text = std::move(pattern);
  p.id = token.id;
  p.single_word = token.single_word;
  p.lstrip = token.lstrip;
  p.rstrip = token.rstrip;

  // A second token with the same text replaces the first (one id per string, as in HF).
  for (auto& existing : patterns_) {
    if (existing.text == p.text) {
      existing = std::move(p);
      return;
    }
  }
  patterns_.push_back(std::move(p));
  std::vector<size_t>& bucket = by_first_[first];
  bucket.push_back(patterns_.size() - 1);
  std::stable_sort(bucket.begin(), bucket.end(), [this](size_t a, size_t b) {
    return patterns_[a].text.size() > patterns_[b].text.size();
  });
  if (first < 128) ascii_first_[first / 64] |= uint64_t{1} << (first % 64);
}

void AddedTokenMatcher::split(std::u32string_view text, std::vector<TextSegment>* out) const {
  const size_t n = text.size();
  if (patterns_.empty()) {
    if (n > 0) out->push_back({0, n, -1});
    return;
  }

  size_t segment_start = 0;  // start of the text not yet assigned to a segment
  size_t pos = 0;
  while (pos < n) {
    const char32_t c = text[pos];
    if (c < 128 && !(ascii_first_[c / 64] & (uint64_t{1} << (c % 64)))) {
      ++pos;
      continue;
    }
    const Pattern* match = nullptr;
    if (auto it = by_first_.find(c); it != by_first_.end()) {
      for (size_t index : it->second) {
        const Pattern& p = patterns_[index];
        if (text.compare(pos, p.text.size(), p.text) == 0) {
          match = &p;  // longest first, so the first hit is the longest
          break;
        }
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }

    size_t start = pos;
    size_t stop = pos + match->text.size();
    if (match->single_word) {
      const bool word_before = start > 0 && is_word_char(text[start - 1]);
      const bool word_after = stop < n && is_word_char(text[stop]);
      if (word_before || word_after) {
        pos = stop;  // HF's match iterator resumes after a rejected match
        continue;
      }
    }
    if (match->lstrip) {
      while (start > segment_start && is_whitespace(text[start - 1])) --start;
    }
    if (match->rstrip) {
      while (stop < n && is_whitespace(text[stop])) ++stop;
    }
    if (start > segment_start) out->push_back({segment_start, start, -1});
    out->push_back({start, stop, match->id});
    segment_start = stop;
    pos = stop;
  }
  if (segment_start < n) out->push_back({segment_start, n, -1});
}

bool AddedTokenMatcher::spans(std::u32string_view text, size_t cut) const {
  for (const Pattern& p : patterns_) {
    const size_t length = p.text.size();
    // Occurrences starting at first..last touch CUT: inside it, or (single_word) at an edge.
    const size_t reach = p.single_word ? length : length - 1;
    const size_t first = cut >= reach ? cut - reach : 0;
    const size_t last = p.single_word ? cut : cut - 1;
    for (size_t start = first; start <= last && start + length <= text.size(); ++start) {
      if (text.compare(start, length, p.text) == 0) return true;
    }
  }
  return false;
}

size_t AddedTokenMatcher::longest() const {
  size_t longest = 0;
  for (const Pattern& p : patterns_) longest = std::max(longest, p.text.size());
  return longest;
}

}  // namespace mtst::text
