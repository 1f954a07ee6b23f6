// encode_stream: read + tokenize a chunk, encode it, append its rows; repeat.
#include "mtst/model/stream_encode.h"

#include <future>
#include <vector>

#include "mtst/text/token_stream.h"

namespace mtst {

namespace {

TokenizedTexts read_chunk(const Tokenizer& tokenizer, TextRecordReader& input, size_t texts,
                          size_t max_length) {
  TokenizedTexts chunk;
  while (chunk.ids.size() < texts) {
    TokenStream stream(tokenizer, max_length);
    if (!input.next([&stream](std::string_view piece) { return stream.feed(piece); })) break;
    bool cut = false;
    chunk.ids.push_back(stream.finish(&cut));
    chunk.truncated += cut ? 1 : 0;
    chunk.tokens += chunk.ids.back().size();
  }
  return chunk;
}

}  // namespace

StreamEncodeStats encode_chunks(const SentenceEncoder& encoder,
                                const std::function<TokenizedTexts(size_t)>& next_chunk,
                                size_t cpu_chunk,
                                const std::function<void(const at::Tensor&)>& sink,
                                const EncodeOptions& options) {
  const size_t pipelined = encoder.pipeline_chunk(options);
  const size_t texts = pipelined > 0 ? pipelined : cpu_chunk;
  const auto policy = pipelined > 0 ? std::launch::async : std::launch::deferred;
  auto read_next = [&] { return next_chunk(texts); };
  StreamEncodeStats stats;
  std::future<TokenizedTexts> next = std::async(std::launch::deferred, read_next);
  for (;;) {
    TokenizedTexts chunk = next.get();
    if (chunk.ids.empty()) break;
    const bool more = chunk.ids.size() == texts;
    if (more) next = std::async(policy, read_next);  // on a GPU: read while it encodes
    sink(encoder.encode_ids(chunk.ids, options));
    stats.texts += chunk.ids.size();
    stats.truncated += chunk.truncated;
    stats.tokens += chunk.tokens;
    if (!more) break;
  }
  return stats;
}

StreamEncodeStats encode_stream(const SentenceEncoder& encoder, TextRecordReader& input,
                                EmbeddingWriter& output, const EncodeOptions& options) {
  const size_t max_length = encoder.resolve_max_length(options);
  auto next_chunk = [&](size_t texts) {
    return read_chunk(encoder.tokenizer(), input, texts, max_length);
  };
  auto write = [&output](const at::Tensor& rows) { output.append(rows); };
  return encode_chunks(encoder, next_chunk, kCpuStreamChunk, write, options);
}

}  // namespace mtst
