// Reading the texts a command works on: a text file with one sentence per line, or a .jsonl
// file whose lines carry a "text" field (so texts can hold newlines); "-" or "" is stdin (text
// lines). Every line of a text file is an input, empty ones included (they encode as
// [CLS] [SEP], as sentence-transformers does for ""); a trailing "\r" is dropped. Blank
// lines of a .jsonl file are skipped; any other malformed line is an error naming its number.
//
// TextRecordReader reads one record at a time in bounded memory: a text line reaches its
// consumer in pieces, and the consumer may stop early (the rest of the line is skipped, not
// held). A .jsonl record is held whole while it is parsed, so there memory follows the longest
// line. A shard K/N of a file is the lines that start in the K-th of N equal byte ranges, as
// Hadoop splits a text file: every line in exactly one shard, shards in file order, each read
// without scanning the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mtst {

struct InputShard {
  size_t index = 0;  // K, 0-based
  size_t count = 1;  // N
};

// Parses "K/N" (0 <= K < N); throws mtst::Error naming the text otherwise.
InputShard parse_input_shard(const std::string& text);

class TextRecordReader {
 public:
  // Opens PATH ("" or "-": stdin) and, for a shard, seeks to its first line. Throws
  // mtst::Error when the file cannot be opened, or a shard is asked of stdin or a pipe.
  explicit TextRecordReader(const std::string& path, InputShard shard = {});
  ~TextRecordReader();
  TextRecordReader(const TextRecordReader&) = delete;
  TextRecordReader& operator=(const TextRecordReader&) = delete;

  // Hands the next record's text to SINK, in one or more pieces (an empty line: no piece);
  // SINK returns false when it needs no more of this text. Returns false at the end of the
  // input or shard. Throws mtst::Error for a malformed .jsonl line or a read error.
  bool next(const std::function<bool(std::string_view)>& sink);

 private:
  bool fill();
  bool at_end();
  void read_line(const std::function<bool(std::string_view)>& sink);
  void skip_through_newline();
  std::string where() const;

  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool jsonl_ = false;
  bool sharded_ = false;
  std::vector<char> buffer_;
  size_t pos_ = 0, len_ = 0;
  uint64_t offset_ = 0;        // file offset of buffer_[pos_]
  uint64_t end_ = UINT64_MAX;  // lines starting here or later belong to the next shard
  uint64_t line_start_ = 0;    // offset of the line being read
  size_t line_number_ = 0;
  bool eof_ = false;
};

// Every text of PATH (or of one SHARD of it), in order, for callers that need them at once.
std::vector<std::string> read_texts(const std::string& path, InputShard shard = {});

}  // namespace mtst
