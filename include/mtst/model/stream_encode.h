// `mtst encode` over an input of any size: texts are read, tokenized (TokenStream: a huge
// line costs its first max_length tokens, not its bytes) and encoded a chunk at a time, and
// each chunk's rows are written before the next chunk is read, in input order. Memory is
// bounded by the chunk (texts x max_length ids and their embeddings), whatever the input
// size. Within a chunk texts are length-sorted as in SentenceEncoder::encode. On a GPU the
// next chunk is read and tokenized on a CPU thread while the device encodes this one.
#pragma once

#include <cstddef>
#include <functional>

#include "mtst/io/embedding_output.h"
#include "mtst/io/text_input.h"
#include "mtst/model/sentence_encoder.h"

namespace mtst {

// Texts per chunk on the CPU when EncodeOptions::pipeline_chunk does not say: enough that
// length sorting leaves next to no padding, small enough to keep a chunk in a few MB.
constexpr size_t kCpuStreamChunk = 8192;

struct StreamEncodeStats {
  size_t texts = 0;
  size_t truncated = 0;  // texts cut to the max length
  size_t tokens = 0;     // real tokens encoded
};

// The chunk pipeline behind encode_stream and SentenceEncoder::encode: NEXT_CHUNK(n) returns up
// to n tokenized texts (fewer: the input has ended); each chunk is encoded and its rows handed
// to SINK, in input order. Chunks hold EncodeOptions::pipeline_chunk texts where the device
// pipelines (a GPU: the next chunk is read on a thread while this one encodes), else CPU_CHUNK.
StreamEncodeStats encode_chunks(const SentenceEncoder& encoder,
                                const std::function<TokenizedTexts(size_t)>& next_chunk,
                                size_t cpu_chunk,
                                const std::function<void(const at::Tensor&)>& sink,
                                const EncodeOptions& options);

StreamEncodeStats encode_stream(const SentenceEncoder& encoder, TextRecordReader& input,
                                EmbeddingWriter& output, const EncodeOptions& options);

}  // namespace mtst
