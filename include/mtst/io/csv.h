// An RFC 4180 CSV reader: comma-separated fields, double-quoted fields with "" escapes that may
// span lines, CRLF / LF / lone-CR record ends, a leading UTF-8 BOM, and a last record without
// a line break. Blank lines are skipped. It does not guess delimiters, trim fields or decode
// anything; a bare quote inside an unquoted field is kept as-is. An unterminated quote at EOF
// or text after a closing quote is an mtst::Error naming the source and line.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace mtst {

// Called once per record with its fields and the 1-based line number where it starts.
using CsvRecordFn = std::function<void(const std::vector<std::string>& fields, size_t line)>;

// Streams the records of IN to FN; WHERE names the source in error messages.
void for_each_csv_record(std::istream& in, const std::string& where, const CsvRecordFn& fn);

// All records of IN (header included, if any).
std::vector<std::vector<std::string>> read_csv(std::istream& in, const std::string& where);

}  // namespace mtst
