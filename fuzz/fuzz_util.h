// Shared pieces of the libFuzzer targets: a private scratch directory per fuzzing process,
// writing bytes to a file in it, and loading + encoding a tokenizer directory. A target's only
// allowed failure is mtst::Error; anything else (a crash, a sanitizer report, another exception) is
// a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mtst/error.h"
#include "mtst/text/tokenizer.h"

namespace mtst::fuzz {

inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("mtst-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  write_bytes(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// A small BERT vocabulary for the targets that need a valid one beside a fuzzed file.
inline const char* kSmallVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nhello\nworld\n##s\n##ing\n,\n.\n!\n?\na\nb\n";

// Fails the run: for a broken invariant (libFuzzer reports it as a crash with the input).
[[noreturn]] inline void invariant_broken() { std::abort(); }

// Loads the tokenizer directory DIR and encodes SENTENCE: every id must be inside its vocabulary.
// mtst::Error (a refused file) is the one allowed outcome besides success.
inline void load_and_encode(const std::filesystem::path& dir, const char* sentence) {
  try {
    const auto tokenizer = mtst::Tokenizer::from_dir(dir);
    for (int64_t id : tokenizer.encode(sentence)) {
      if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) invariant_broken();
    }
  } catch (const mtst::Error&) {
  }
}

}  // namespace mtst::fuzz
