// Atomic replace-by-rename for checkpoint and CLI outputs (see atomic_file.h). Durability of the
// rename itself is best effort: the directory fsync is attempted but its failure is not an error,
// since some filesystems refuse fsync on directories.
#include "mtst/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "mtst/error.h"

namespace mtst {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// fsync needs a descriptor; the ofstream has already been closed, so reopen the file by name.
// Returns 0 or an errno value.
int fsync_path(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

}  // namespace

AtomicWriter::AtomicWriter(std::filesystem::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
  errno = 0;
  stream_.open(temp_, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!stream_.is_open()) {
    int err = errno;
    done_ = true;  // Nothing was created, so the destructor has nothing to remove.
    throw Error("cannot write " + target_.string() + ": cannot create temporary file " +
                temp_.string() + (err != 0 ? ": " + errno_text(err) : std::string()));
  }
}

AtomicWriter::~AtomicWriter() {
  if (done_) return;
  stream_.close();
  std::error_code ignored;
  std::filesystem::remove(temp_, ignored);
}

void AtomicWriter::fail(const std::string& what) {
  stream_.close();
  std::error_code ignored;
  std::filesystem::remove(temp_, ignored);
  done_ = true;
  throw Error("cannot write " + target_.string() + ": " + what);
}

void AtomicWriter::commit() {
  if (done_) throw Error("cannot write " + target_.string() + ": commit() called twice");
  stream_.flush();
  if (!stream_) {
    // The stream keeps no error code, but a failed write(2) leaves errno set; only the errors
    // a write gives are named (errno may hold an older, unrelated value otherwise).
    const int err = errno;
    const bool write_error = err == ENOSPC || err == EDQUOT || err == EFBIG || err == EIO;
    fail("writing " + temp_.string() +
         " failed: " + (write_error ? errno_text(err) : std::string("disk full?")));
  }
  stream_.close();
  if (stream_.fail()) fail("closing " + temp_.string() + " failed");
  // Without the fsync a crash after the rename can leave a correctly named but empty file.
  if (int err = fsync_path(temp_, O_WRONLY); err != 0) {
    fail("fsync of " + temp_.string() + " failed: " + errno_text(err));
  }
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    fail("renaming " + temp_.string() + " failed: " + errno_text(err));
  }
  done_ = true;
  std::filesystem::path dir = target_.parent_path();
  fsync_path(dir.empty() ? std::filesystem::path(".") : dir, O_RDONLY | O_DIRECTORY);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  AtomicWriter writer(path);
  writer.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  writer.commit();
}

}  // namespace mtst
