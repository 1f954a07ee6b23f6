// Text inputs from files or stdin, as lines or as .jsonl records with a "text" field, read
// through a fixed buffer with read(2); shards start at a byte offset found with lseek.
#include "mtst/io/text_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "mtst/error.h"
#include "mtst/io/shard.h"

namespace mtst {

namespace {

constexpr size_t kBufferBytes = 1 << 16;

bool ends_with(const std::string& text, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

size_t parse_count(const std::string& digits, const std::string& whole) {
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("--shard " + whole + ": expected K/N with 0 <= K < N, e.g. 0/4");
  }
  return std::stoul(digits);
}

}  // namespace

InputShard parse_input_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) {
    throw Error("--shard " + text + ": expected K/N with 0 <= K < N, e.g. 0/4");
  }
  InputShard shard{parse_count(text.substr(0, slash), text),
                   parse_count(text.substr(slash + 1), text)};
  if (shard.count == 0 || shard.index >= shard.count) {
    throw Error(
        "--shard " + text + ": K must be in 0.." +
        (shard.count == 0 ? std::string("N-1 and N at least 1") : std::to_string(shard.count - 1)) +
        " (shards are numbered from 0)");
  }
  return shard;
}

TextRecordReader::TextRecordReader(const std::string& path, InputShard shard)
    : path_(path.empty() || path == "-" ? "standard input" : path),
      jsonl_(ends_with(path, ".jsonl")),
      sharded_(shard.count > 1),
      buffer_(kBufferBytes) {
  if (path.empty() || path == "-") {
    if (sharded_) throw Error("--shard needs an --input file: standard input cannot be split");
    fd_ = STDIN_FILENO;
    return;
  }
  if (std::filesystem::is_directory(path)) throw Error("input " + path + " is a directory");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot open input file " + path + ": " + std::strerror(errno));
  owns_fd_ = true;
  if (!sharded_) return;
  struct stat info {};
  if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd_);
    throw Error("--shard needs a regular --input file; " + path + " is a pipe or device");
  }
  const ShardRange range = shard_range(static_cast<size_t>(info.st_size), shard.index, shard.count);
  end_ = range.end;
  if (range.begin == 0) return;
  // The line holding byte begin-1 belongs to an earlier shard (or ends right there).
  offset_ = range.begin - 1;
  if (::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET) < 0) {
    ::close(fd_);
    throw Error("cannot seek in input file " + path + ": " + std::strerror(errno));
  }
  skip_through_newline();
}

TextRecordReader::~TextRecordReader() {
  if (owns_fd_) ::close(fd_);
}

std::string TextRecordReader::where() const {
  if (sharded_) return path_ + ": the line at byte " + std::to_string(line_start_);
  return path_ + ":" + std::to_string(line_number_);
}

bool TextRecordReader::fill() {
  if (eof_) return false;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n > 0) {
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return true;
    }
    if (n == 0) break;
    if (errno != EINTR) throw Error("error while reading " + path_ + ": " + std::strerror(errno));
  }
  eof_ = true;
  pos_ = len_ = 0;
  return false;
}

bool TextRecordReader::at_end() {
  if (pos_ == len_ && !fill()) return true;
  return offset_ >= end_;  // the next line starts in the next shard
}

void TextRecordReader::skip_through_newline() {
  while (pos_ < len_ || fill()) {
    const char* start = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
    const size_t n = newline ? static_cast<size_t>(newline - start) + 1 : len_ - pos_;
    pos_ += n;
    offset_ += n;
    if (newline) return;
  }
}

void TextRecordReader::read_line(const std::function<bool(std::string_view)>& sink) {
  line_start_ = offset_;
  ++line_number_;
  bool wanted = true;
  bool held_cr = false;  // a "\r" at a buffer's end: dropped if the line ends right after it
  while (pos_ < len_ || fill()) {
    const char* start = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
    std::string_view piece(start, newline ? static_cast<size_t>(newline - start) : len_ - pos_);
    const size_t consumed = piece.size() + (newline ? 1 : 0);
    pos_ += consumed;
    offset_ += consumed;
    if (wanted && held_cr && !piece.empty()) wanted = sink("\r");
    held_cr = false;
    if (!piece.empty() && piece.back() == '\r') {
      piece.remove_suffix(1);
      held_cr = !newline;
    }
    if (wanted && !piece.empty()) wanted = sink(piece);
    if (newline) return;
  }
}

bool TextRecordReader::next(const std::function<bool(std::string_view)>& sink) {
  if (!jsonl_) {
    if (at_end()) return false;
    read_line(sink);
    return true;
  }
  while (!at_end()) {
    std::string line;
    read_line([&line](std::string_view piece) {
      line.append(piece);
      return true;
    });
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where() + ": not valid JSON (" + e.what() + ")");
    }
    line = std::string();
    if (!record.is_object() || !record.contains("text") || !record.at("text").is_string()) {
      throw Error(where() + ": expected an object with a string field \"text\"");
    }
    sink(record.at("text").get_ref<const std::string&>());
    return true;
  }
  return false;
}

std::vector<std::string> read_texts(const std::string& path, InputShard shard) {
  TextRecordReader reader(path, shard);
  std::vector<std::string> texts;
  std::string text;
  while (reader.next([&text](std::string_view piece) {
    text.append(piece);
    return true;
  })) {
    texts.push_back(std::move(text));
    text.clear();
  }
  return texts;
}

}  // namespace mtst
