// Checkpoint directories replaced in one atomic exchange (see atomic_directory.h). Where the
// filesystem has no RENAME_EXCHANGE (renameat2 answers EINVAL or ENOSYS), the old directory is
// renamed aside first and the new one into place: a crash between the two leaves the old copy
// as `.<name>.old-<pid>`, which recover_directory() puts back.
#include "mtst/io/atomic_directory.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "mtst/error.h"

namespace mtst {

namespace fs = std::filesystem;

namespace {

fs::path parent_of(const fs::path& dir) {
  return dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
}

fs::path sibling(const fs::path& dir, const std::string& kind) {
  return parent_of(dir) /
         ("." + dir.filename().string() + "." + kind + "-" + std::to_string(::getpid()));
}

void fsync_one(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems refuse fsync on directories (EINVAL); their renames are as durable as
  // they can be made, so that is not an error.
  if (status != 0 && !(directory && err == EINVAL)) {
    throw Error("fsync of " + path.string() + " failed: " + std::strerror(err));
  }
}

// Puts NEW where DIR is: one atomic exchange, or (no exchange on this filesystem) two renames.
// Afterwards NEW's path holds the old directory, if there was one.
void swap_into_place(const fs::path& fresh, const fs::path& dir) {
  if (!fs::exists(dir)) {
    fs::rename(fresh, dir);
    return;
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) {
    throw Error("cannot exchange " + fresh.string() + " and " + dir.string() + ": " +
                std::strerror(errno));
  }
  const fs::path old = sibling(dir, "old");
  fs::rename(dir, old);
  fs::rename(fresh, dir);
  fs::rename(old, fresh);
}

}  // namespace

void fsync_tree(const fs::path& root) {
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() || entry.is_directory())
      fsync_one(entry.path(), entry.is_directory());
  }
  fsync_one(root, true);
}

void write_directory_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  const fs::path fresh = sibling(dir, "tmp");
  std::error_code ignored;
  try {
    fs::create_directories(parent_of(dir));
    fs::remove_all(fresh);
    fs::create_directory(fresh);
    fill(fresh);
    fsync_tree(fresh);
    swap_into_place(fresh, dir);
    fsync_one(parent_of(dir), true);
  } catch (const std::exception& e) {
    // Failed between the two fallback renames: the old directory goes back.
    const fs::path old = sibling(dir, "old");
    if (!fs::exists(dir, ignored) && fs::exists(old, ignored)) fs::rename(old, dir, ignored);
    fs::remove_all(fresh, ignored);
    throw Error("cannot write " + dir.string() + ": " + e.what());
  }
  fs::remove_all(fresh, ignored);  // the old directory, or nothing
}

std::vector<std::string> recover_directory(const fs::path& dir) {
  std::vector<std::string> log;
  const fs::path parent = parent_of(dir);
  if (!fs::is_directory(parent)) return log;
  const std::string prefix = "." + dir.filename().string() + ".";
  std::vector<fs::path> temps, olds;
  for (const auto& entry : fs::directory_iterator(parent)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix + "tmp-", 0) == 0) temps.push_back(entry.path());
    if (name.rfind(prefix + "old-", 0) == 0) olds.push_back(entry.path());
  }
  for (const auto& old : olds) {
    if (!fs::exists(dir)) {  // an old copy was always a complete directory
      fs::rename(old, dir);
      log.push_back("restored " + dir.string() + " from " + old.string());
    } else {
      fs::remove_all(old);
      log.push_back("removed " + old.string());
    }
  }
  for (const auto& temp : temps) {
    fs::remove_all(temp);
    log.push_back("removed " + temp.string());
  }
  return log;
}

}  // namespace mtst
