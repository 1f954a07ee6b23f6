// Atomic file replacement: bytes go to `<name>.tmp.<pid>` beside the target, are flushed and
// fsync'ed, then renamed over the target, so readers see either the old file or the complete new
// one. It does not lock against other writers of the same target or create missing directories.
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string_view>

namespace mtst {

// Writes `bytes` to `path` atomically. Throws mtst::Error (naming the path) on any failure, after
// removing the temporary file.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// For writers that stream their output: write to stream(), then commit(). If commit() is never
// reached (an exception unwinds past the writer), the destructor removes the temporary file and
// the target is left untouched.
class AtomicWriter {
 public:
  // Creates the temporary file; throws mtst::Error if it cannot.
  explicit AtomicWriter(std::filesystem::path target);
  ~AtomicWriter();

  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  // A binary-mode stream onto the temporary file.
  std::ostream& stream() { return stream_; }

  // Flushes, fsyncs and renames the temporary file over the target. Throws mtst::Error if any
  // step (including an earlier failed write to stream()) failed; may be called only once.
  void commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  [[noreturn]] void fail(const std::string& what);

  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream stream_;
  bool done_ = false;
};

}  // namespace mtst
