// .npy and JSON-lines writers for embedding rows, appended as they come.
#include "mtst/io/embedding_output.h"

#include <ATen/ATen.h>

#include <charconv>
#include <cmath>
#include <iostream>

#include "mtst/error.h"
#include "mtst/io/atomic_file.h"

namespace mtst {

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// NPY 1.0 header: magic, version, little-endian uint16 length, then the dict padded with
// spaces and a newline to a multiple of 64 bytes. The padding leaves room for a row count of
// 20 digits, so the final count fits in the same bytes.
std::string npy_header(int64_t rows, int64_t dim) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                     ", " + std::to_string(dim) + "), }";
  const size_t widest = dict.size() - std::to_string(rows).size() + 20;
  const size_t prefix = 10;
  const size_t total = (prefix + widest + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  const auto len = static_cast<uint16_t>(dict.size());
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(len & 0xff));
  header.push_back(static_cast<char>(len >> 8));
  return header + dict;
}

void write_jsonl_rows(const float* data, int64_t rows, int64_t dim, std::ostream& out) {
  std::string line;
  for (int64_t i = 0; i < rows; ++i) {
    line = "{\"embedding\": [";
    for (int64_t j = 0; j < dim; ++j) {
      if (j) line += ", ";
      line += format_float(data[i * dim + j]);
    }
    line += "]}\n";
    out << line;
  }
}

}  // namespace

std::string format_float(float value) {
  if (!std::isfinite(value)) return "null";  // JSON has no NaN/Inf
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void check_embedding_output_path(const std::string& path) {
  if (path.empty() || path == "-" || ends_with(path, ".npy") || ends_with(path, ".jsonl")) return;
  throw Error("--output " + path + ": unknown extension (expected .npy or .jsonl)");
}

EmbeddingWriter::EmbeddingWriter(const std::string& path, int64_t dim) : dim_(dim) {
  check_embedding_output_path(path);
  if (path.empty() || path == "-") return;
  npy_ = ends_with(path, ".npy");
  file_ = std::make_unique<AtomicWriter>(path);
  if (npy_) out() << npy_header(0, dim_);
}

EmbeddingWriter::~EmbeddingWriter() = default;

std::ostream& EmbeddingWriter::out() { return file_ ? file_->stream() : std::cout; }

void EmbeddingWriter::append(const at::Tensor& rows) {
  const auto e = rows.to(at::kFloat).contiguous();
  if (e.dim() != 2 || e.size(1) != dim_) {
    throw Error("embedding rows of width " + std::to_string(e.dim() == 2 ? e.size(1) : -1) +
                " for an output of width " + std::to_string(dim_));
  }
  const float* data = e.data_ptr<float>();
  if (npy_) {
    out().write(reinterpret_cast<const char*>(data),
                static_cast<std::streamsize>(e.numel() * sizeof(float)));
  } else {
    write_jsonl_rows(data, e.size(0), dim_, out());
  }
  rows_ += e.size(0);
}

void EmbeddingWriter::finish() {
  if (!file_) {
    std::cout.flush();
    if (!std::cout) throw Error("error while writing embeddings to standard output");
    return;
  }
  if (npy_) {
    out().seekp(0);
    out() << npy_header(rows_, dim_);
  }
  file_->commit();
}

void write_embeddings(const at::Tensor& embeddings, const std::string& path) {
  EmbeddingWriter writer(path, embeddings.size(1));
  writer.append(embeddings);
  writer.finish();
}

}  // namespace mtst
