// .npy and JSON-lines writers for embedding matrices.
#include "mtst/io/embedding_output.h"

#include <ATen/ATen.h>

#include <charconv>
#include <cmath>
#include <iostream>

#include "mtst/error.h"
#include "mtst/io/atomic_file.h"

namespace mtst {

std::string format_float(float value) {
  if (!std::isfinite(value)) return "null";  // JSON has no NaN/Inf
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void write_npy(const at::Tensor& embeddings, std::ostream& out) {
  auto e = embeddings.to(at::kFloat).contiguous();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(e.size(0)) + ", " + std::to_string(e.size(1)) + "), }";
  // NPY 1.0: magic, version, little-endian uint16 header length; total header multiple of 64.
  const size_t prefix = 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  const auto len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(e.data_ptr<float>()),
            static_cast<std::streamsize>(e.numel() * sizeof(float)));
}

void write_embedding_jsonl(const at::Tensor& embeddings, std::ostream& out) {
  auto e = embeddings.to(at::kFloat).contiguous();
  const int64_t n = e.size(0), d = e.size(1);
  const float* data = e.data_ptr<float>();
  std::string line;
  for (int64_t i = 0; i < n; ++i) {
    line = "{\"embedding\": [";
    for (int64_t j = 0; j < d; ++j) {
      if (j) line += ", ";
      line += format_float(data[i * d + j]);
    }
    line += "]}\n";
    out << line;
  }
}

void write_embeddings(const at::Tensor& embeddings, const std::string& path) {
  if (path.empty() || path == "-") {
    write_embedding_jsonl(embeddings, std::cout);
    std::cout.flush();
    return;
  }
  const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  if (!npy && !jsonl) {
    throw Error("--output " + path + ": unknown extension (expected .npy or .jsonl)");
  }
  AtomicWriter writer(path);
  if (npy) {
    write_npy(embeddings, writer.stream());
  } else {
    write_embedding_jsonl(embeddings, writer.stream());
  }
  writer.commit();
}

}  // namespace mtst
