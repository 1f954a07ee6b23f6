// RFC 4180 CSV parsing as a small state machine over the stream's bytes (see csv.h).
// Line numbers count physical lines (CRLF is one break), so records with quoted line breaks
// report the line where they start, and errors report the line where they were found.
#include "mtst/io/csv.h"

#include <streambuf>

#include "mtst/error.h"

namespace mtst {
namespace {

constexpr int kEof = std::char_traits<char>::eof();

// Consumes a line break whose first byte C was already read; a CR may be followed by LF.
void finish_line_break(std::streambuf* buf, int c) {
  if (c == '\r' && buf->sgetc() == '\n') buf->sbumpc();
}

// Skips a UTF-8 BOM at the very start.
void skip_bom(std::streambuf* buf, const std::string& where) {
  if (buf->sgetc() != 0xEF) return;
  std::string bom;
  while (bom.size() < 3 && buf->sgetc() != kEof) {
    bom.push_back(static_cast<char>(buf->sbumpc()));
  }
  if (bom == "\xEF\xBB\xBF") return;
  // Not a BOM: put the bytes back if possible, otherwise treat them as data.
  for (size_t i = bom.size(); i > 0; --i) {
    if (buf->sungetc() == kEof) {
      throw Error(where + ":1: cannot re-read the first bytes of the input");
    }
  }
}

// A quoted field whose opening quote was read: appends its text to FIELD up to the closing
// quote ("" is a literal quote), counting line breaks inside it in LINE.
void read_quoted(std::streambuf* buf, std::string& field, size_t& line, const std::string& where) {
  const size_t quote_line = line;
  while (true) {
    int q = buf->sbumpc();
    if (q == kEof) {
      throw Error(where + ":" + std::to_string(line) +
                  ": unterminated quoted field (opened at line " + std::to_string(quote_line) +
                  ")");
    }
    if (q == '"') {
      if (buf->sgetc() != '"') return;
      buf->sbumpc();
      field.push_back('"');
      continue;
    }
    if (q == '\n' || (q == '\r' && buf->sgetc() != '\n')) ++line;
    field.push_back(static_cast<char>(q));
  }
}

}  // namespace

void for_each_csv_record(std::istream& in, const std::string& where, const CsvRecordFn& fn) {
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr) throw Error(where + ": no input stream");

  skip_bom(buf, where);

  std::vector<std::string> fields;
  std::string field;
  size_t line = 1;         // physical line of the next byte
  size_t record_line = 1;  // line where the current record started
  bool in_record = false;  // any byte of the current record seen
  auto end_record = [&]() {
    fields.push_back(std::move(field));
    field.clear();
    fn(fields, record_line);
    fields.clear();
    in_record = false;
  };

  while (true) {
    int c = buf->sbumpc();
    if (c == kEof) break;
    if (!in_record) {
      if (c == '\r' || c == '\n') {  // blank line
        finish_line_break(buf, c);
        ++line;
        continue;
      }
      in_record = true;
      record_line = line;
    }
    if (c == '"' && field.empty()) {
      read_quoted(buf, field, line, where);
      // After the closing quote: a separator, a line break or EOF.
      int next = buf->sgetc();
      if (next == kEof || next == ',' || next == '\r' || next == '\n') {
        c = buf->sbumpc();  // handled below like any separator or line break
        if (c == kEof) break;
      } else {
        throw Error(where + ":" + std::to_string(line) +
                    ": unexpected text after a closing quote (a quote inside a quoted field "
                    "must be doubled)");
      }
    }
    if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' || c == '\n') {
      finish_line_break(buf, c);
      ++line;
      end_record();
    } else {
      field.push_back(static_cast<char>(c));
    }
  }
  if (in_record) end_record();
  if (in.bad()) throw Error(where + ": read error");
}

std::vector<std::vector<std::string>> read_csv(std::istream& in, const std::string& where) {
  std::vector<std::vector<std::string>> records;
  for_each_csv_record(in, where, [&records](const std::vector<std::string>& fields, size_t) {
    records.push_back(fields);
  });
  return records;
}

}  // namespace mtst
