// encode_stream: read + tokenize a chunk, encode it, append its rows; repeat.
#include "mtst/model/stream_encode.h"

#include <future>
#include <vector>

#include "mtst/text/token_stream.h"

namespace mtst {

namespace {

struct TokenizedChunk {
  std::vector<std::vector<int64_t>> ids;
  size_t truncated = 0;
  size_t tokens = 0;
};

TokenizedChunk read_chunk(const Tokenizer& tokenizer, TextRecordReader& input, size_t texts,
                          size_t max_length) {
  TokenizedChunk chunk;
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

StreamEncodeStats encode_stream(const SentenceEncoder& encoder, TextRecordReader& input,
                                EmbeddingWriter& output, const EncodeOptions& options) {
  const size_t max_length = encoder.resolve_max_length(options);
  const size_t pipelined = encoder.pipeline_chunk(options);
  const size_t texts = pipelined > 0 ? pipelined : kCpuStreamChunk;
  // Pipelined (a GPU, as in SentenceEncoder::encode): the next chunk is read on a thread.
  const auto policy = pipelined > 0 ? std::launch::async : std::launch::deferred;
  auto read_next = [&] { return read_chunk(encoder.tokenizer(), input, texts, max_length); };
  StreamEncodeStats stats;
  std::future<TokenizedChunk> next = std::async(std::launch::deferred, read_next);
  for (;;) {
    TokenizedChunk chunk = next.get();
    if (chunk.ids.empty()) break;
    const bool more = chunk.ids.size() == texts;
    if (more) next = std::async(policy, read_next);  // on a GPU: read while it encodes
    output.append(encoder.encode_ids(chunk.ids, options));
    stats.texts += chunk.ids.size();
    stats.truncated += chunk.truncated;
    stats.tokens += chunk.tokens;
    if (!more) break;
  }
  return stats;
}

}  // namespace mtst
