// Writing embedding matrices: .npy (float32, C order, one row per input) or JSON lines
// ({"embedding": [...]}) chosen by the file extension; JSON lines on stdout without a path.
// Files are written atomically (temp + rename): a failure never leaves a partial file.
#pragma once

#include <ATen/core/Tensor.h>

#include <ostream>
#include <string>

namespace mtst {

// embeddings [N, D] float32. PATH "" or "-": JSON lines on stdout.
void write_embeddings(const at::Tensor& embeddings, const std::string& path);

void write_npy(const at::Tensor& embeddings, std::ostream& out);
void write_embedding_jsonl(const at::Tensor& embeddings, std::ostream& out);

// Shortest decimal text that reads back as the same float32.
std::string format_float(float value);

}  // namespace mtst
