// mtst::Tokenizer: wires the pieces together in HF's order (raw added-token split, BertNormalizer,
// normalized added-token split, BertPreTokenizer, WordPiece, [CLS]/[SEP], truncation).
// File parsing lives in tokenizer_files.cpp; Unicode details in unicode.cpp.
#include "mtst/text/tokenizer.h"

#include <algorithm>
#include <utility>

#include "mtst/error.h"
#include "mtst/text/token_stream.h"
#include "text/pre_tokenizer.h"
#include "text/tokenizer_files.h"
#include "text/tokenizer_impl.h"
#include "text/unicode.h"
#include "text/vocab.h"

namespace mtst {

namespace {

// Per-call buffers, reused across calls on the same thread so steady-state encoding does not
// allocate except for the returned vector.
struct Workspace {
  std::u32string raw;
  std::u32string normalized;
  std::vector<text::TextSegment> raw_segments;
  std::vector<text::TextSegment> normalized_segments;
  std::vector<text::WordSpan> words;
  text::WordPiece::Scratch scratch;
};

// Each thread keeps its workspace between calls (no allocation per sentence), but not the
// buffers of a huge input: a server's HTTP threads would otherwise each hold the largest text
// they ever saw (4 bytes per character, several copies). Above this many characters, released.
constexpr size_t kMaxRetainedChars = 16384;

void release_if_large(Workspace& ws) {
  if (ws.raw.capacity() > kMaxRetainedChars || ws.normalized.capacity() > kMaxRetainedChars ||
      ws.raw_segments.capacity() > kMaxRetainedChars ||
      ws.normalized_segments.capacity() > kMaxRetainedChars ||
      ws.words.capacity() > kMaxRetainedChars || ws.scratch.utf8.capacity() > kMaxRetainedChars ||
      ws.scratch.offsets.capacity() > kMaxRetainedChars) {
    ws = Workspace();
  }
}

int64_t resolve_special(const Tokenizer::Impl& impl, const std::optional<int64_t>& given,
                        const std::string& name, const char* role, const std::string& source) {
  if (given) return *given;
  if (auto it = impl.added_by_text.find(name); it != impl.added_by_text.end()) return it->second;
  if (auto id = impl.wordpiece.vocab().find(name)) return *id;
  throw Error(source + ": " + role + " '" + name +
              "' is neither in the vocabulary nor an added token (expected a BERT vocabulary)");
}

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

}  // namespace

void Tokenizer::Impl::encode_utf8(std::string_view utf8_text, std::vector<int64_t>* ids) const {
  std::u32string& raw = workspace().raw;
  raw.clear();
  text::decode_utf8_lossy(utf8_text, &raw);
  encode_pieces(raw, ids);  // may release `raw` when it was large
}

void Tokenizer::Impl::encode_pieces(std::u32string_view raw, std::vector<int64_t>* ids) const {
  Workspace& ws = workspace();
  ws.raw_segments.clear();
  raw_tokens.split(raw, &ws.raw_segments);

  for (const text::TextSegment& segment : ws.raw_segments) {
    if (segment.id >= 0) {
      ids->push_back(segment.id);
      continue;
    }
    ws.normalized.clear();
    normalizer.normalize(raw.substr(segment.begin, segment.end - segment.begin), &ws.normalized);
    ws.normalized_segments.clear();
    normalized_tokens.split(ws.normalized, &ws.normalized_segments);

    const std::u32string_view normalized(ws.normalized);
    for (const text::TextSegment& piece : ws.normalized_segments) {
      if (piece.id >= 0) {
        ids->push_back(piece.id);
        continue;
      }
      const std::u32string_view chunk = normalized.substr(piece.begin, piece.end - piece.begin);
      ws.words.clear();
      text::bert_pre_tokenize(chunk, &ws.words);
      for (const text::WordSpan& word : ws.words) {
        wordpiece.tokenize(chunk.substr(word.begin, word.end - word.begin), ids, &ws.scratch);
      }
    }
  }
  release_if_large(ws);
}

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  text::TokenizerSpec spec = text::read_tokenizer_dir(dir);
  const std::string source = spec.source;
  text::Vocab vocab = text::Vocab::from_entries(std::move(spec.vocab), source);
  text::WordPiece model(std::move(vocab), spec.wordpiece, source);
  auto impl = std::make_shared<Impl>(std::move(model), spec.normalizer);

  size_t id_bound = impl->wordpiece.vocab().id_bound();
  bool uncuttable = false;  // a normalized added token that a safe cut could split
  for (const text::AddedToken& token : spec.added_tokens) {
    if (token.id < 0) {
      throw Error(source + ": added token '" + token.content + "' has a negative id");
    }
    id_bound = std::max(id_bound, static_cast<size_t>(token.id) + 1);
    impl->added_by_id[token.id] = token.content;
    impl->added_by_text[token.content] = token.id;
    std::u32string pattern;
    text::decode_utf8_lossy(token.content, &pattern);
    if (token.normalized) {
      std::u32string normalized = impl->normalizer.normalize(pattern);
      for (char32_t c : normalized) {
        uncuttable = uncuttable || text::is_whitespace(c) || text::is_cjk_ideograph(c);
      }
      impl->normalized_tokens.add(std::move(normalized), token);
    } else {
      impl->raw_tokens.add(std::move(pattern), token);
    }
  }
  impl->id_bound = id_bound;
  impl->cuts = text::SafeCuts(spec.normalizer, &impl->raw_tokens,
                              /*punctuation_cuts=*/impl->normalized_tokens.empty(),
                              /*any_cuts=*/!uncuttable);
  impl->cls = resolve_special(*impl, spec.cls_id, spec.cls_token, "cls token", source);
  impl->sep = resolve_special(*impl, spec.sep_id, spec.sep_token, "sep token", source);
  impl->pad = resolve_special(*impl, spec.pad_id, spec.pad_token, "pad token", source);
  for (int64_t id : {impl->cls, impl->sep, impl->pad}) {
    if (id < 0 || static_cast<size_t>(id) >= id_bound) {
      throw Error(source + ": special token id " + std::to_string(id) +
                  " is outside the vocabulary (expected 0 <= id < " + std::to_string(id_bound) +
                  ")");
    }
  }
  impl->model_max_length = spec.model_max_length;
  return Tokenizer(std::move(impl));
}

std::vector<int64_t> Tokenizer::encode(std::string_view utf8_text, size_t max_length,
                                       bool* truncated) const {
  if (max_length > 0 && utf8_text.size() > TokenStream::kDefaultWindow) {
    TokenStream stream(*this, max_length);  // the same ids, in windows of bounded size
    stream.feed(utf8_text);
    return stream.finish(truncated);
  }
  std::vector<int64_t> ids;
  ids.reserve(utf8_text.size() / 3 + 8);
  ids.push_back(impl_->cls);
  if (truncated != nullptr) *truncated = max_length == 1;
  if (max_length == 1) return ids;  // a hard cap: no room for [SEP]
  impl_->encode_utf8(utf8_text, &ids);
  if (max_length != 0 && ids.size() + 1 > max_length) {
    ids.resize(max_length - 1);
    if (truncated != nullptr) *truncated = true;
  }
  ids.push_back(impl_->sep);
  return ids;
}

std::vector<std::string> Tokenizer::tokenize(std::string_view utf8_text) const {
  std::vector<int64_t> ids;
  impl_->encode_utf8(utf8_text, &ids);
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) tokens.push_back(id_to_token(id));
  return tokens;
}

int64_t Tokenizer::pad_id() const { return impl_->pad; }
int64_t Tokenizer::cls_id() const { return impl_->cls; }
int64_t Tokenizer::sep_id() const { return impl_->sep; }
int64_t Tokenizer::unk_id() const { return impl_->wordpiece.unk_id(); }
size_t Tokenizer::vocab_size() const { return impl_->id_bound; }
size_t Tokenizer::model_max_length() const { return impl_->model_max_length; }

std::string Tokenizer::id_to_token(int64_t id) const {
  if (auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) return it->second;
  const std::string* token = impl_->wordpiece.vocab().token(id);
  return token ? *token : std::string();
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_by_text.find(std::string(token)); it != impl_->added_by_text.end()) {
    return it->second;
  }
  return impl_->wordpiece.vocab().find(token);
}

}  // namespace mtst
