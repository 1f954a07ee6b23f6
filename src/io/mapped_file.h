// A read-only memory mapping of a whole file, unmapped on destruction. Readers copy what they
// need out of it before it goes away; it does not guard against the file being truncated by
// someone else while mapped (that would raise SIGBUS, as with any mmap reader).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace mtst {

class MappedFile {
 public:
  // Throws mtst::Error naming the path if it is missing, not a regular file, or cannot be mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The file's bytes; empty (and not dereferenceable) for an empty file.
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mtst
