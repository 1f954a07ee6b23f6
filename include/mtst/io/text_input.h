// Reading the texts a command works on: a text file with one sentence per line, or a .jsonl
// file whose lines carry a "text" field (so texts can hold newlines); "-" or "" is stdin (text
// lines). Every line of a text file is an input, empty ones included (they encode as
// [CLS] [SEP], as sentence-transformers does for ""); a trailing "\r" is dropped. Blank
// lines of a .jsonl file are skipped; any other malformed line is an error naming its number.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace mtst {

std::vector<std::string> read_texts(const std::string& path);
std::vector<std::string> read_text_lines(std::istream& in);
std::vector<std::string> read_jsonl_texts(std::istream& in, const std::string& where);

}  // namespace mtst
