// Writing embedding matrices: .npy (float32, C order, one row per input) or JSON lines
// ({"embedding": [...]}) chosen by the file extension; JSON lines on stdout without a path.
// EmbeddingWriter takes the rows as they are computed, so a corpus of any size streams
// through. Files are written atomically (temp + rename at finish()): a failure never leaves a
// partial file. A .npy header is written first with room for any row count (as numpy's own
// writer leaves room to grow) and rewritten in place with the final count.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

namespace mtst {

class AtomicWriter;

// Throws mtst::Error unless PATH is "", "-", *.npy or *.jsonl.
void check_embedding_output_path(const std::string& path);

class EmbeddingWriter {
 public:
  // PATH "" or "-": JSON lines on stdout. DIM: floats per row.
  EmbeddingWriter(const std::string& path, int64_t dim);
  ~EmbeddingWriter();
  EmbeddingWriter(const EmbeddingWriter&) = delete;
  EmbeddingWriter& operator=(const EmbeddingWriter&) = delete;

  // Appends rows [R, DIM] (any float dtype; written as float32).
  void append(const at::Tensor& rows);
  // Completes the file (final .npy header, then the atomic rename). Without it, nothing is
  // left behind.
  void finish();

  int64_t rows() const { return rows_; }

 private:
  std::ostream& out();

  bool npy_ = false;
  int64_t dim_ = 0;
  int64_t rows_ = 0;
  std::unique_ptr<AtomicWriter> file_;  // null: stdout
};

// embeddings [N, D] float32. PATH "" or "-": JSON lines on stdout.
void write_embeddings(const at::Tensor& embeddings, const std::string& path);

// Shortest decimal text that reads back as the same float32.
std::string format_float(float value);

}  // namespace mtst
