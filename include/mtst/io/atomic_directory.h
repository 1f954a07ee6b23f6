// Atomic directory replacement for checkpoints: the new contents are written into a hidden
// sibling `.<name>.tmp-<pid>`, made durable (every file and directory fsync'ed), and exchanged
// with the target in one renameat2(RENAME_EXCHANGE). At every instant the target is either the
// complete old directory or the complete new one; a crash leaves at most a hidden sibling,
// which recover_directory() removes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mtst {

// Replaces (or creates) DIR with what FILL writes into the empty directory it is given. If FILL
// or any later step throws, DIR is left as it was and the sibling is removed; the error
// (mtst::Error) names DIR.
void write_directory_atomic(const std::filesystem::path& dir,
                            const std::function<void(const std::filesystem::path&)>& fill);

// Cleans up after interrupted writes of DIR: hidden `.<name>.tmp-*` siblings are removed, and
// `.<name>.old-*` ones (left by mtst versions that replaced a directory with two renames)
// become DIR again when DIR is missing, else are removed. Returns what was restored or removed,
// one line each, for a log.
std::vector<std::string> recover_directory(const std::filesystem::path& dir);

// fsync of every regular file and directory under ROOT, ROOT included. Throws mtst::Error.
void fsync_tree(const std::filesystem::path& root);

}  // namespace mtst
