// Text inputs from files or stdin, as lines or as .jsonl records with a "text" field.
#include "mtst/io/text_input.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "mtst/error.h"

namespace mtst {

std::vector<std::string> read_text_lines(std::istream& in) {
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    texts.push_back(std::move(line));
  }
  return texts;
}

std::vector<std::string> read_jsonl_texts(std::istream& in, const std::string& where) {
  std::vector<std::string> texts;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ":" + std::to_string(number) + ": not valid JSON (" + e.what() + ")");
    }
    if (!record.is_object() || !record.contains("text") || !record.at("text").is_string()) {
      throw Error(where + ":" + std::to_string(number) +
                  ": expected an object with a string field \"text\"");
    }
    texts.push_back(record.at("text").get<std::string>());
  }
  return texts;
}

std::vector<std::string> read_texts(const std::string& path) {
  if (path.empty() || path == "-") return read_text_lines(std::cin);
  if (std::filesystem::is_directory(path)) throw Error("input " + path + " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open input file " + path);
  const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  auto texts = jsonl ? read_jsonl_texts(in, path) : read_text_lines(in);
  if (in.bad()) throw Error("error while reading " + path);
  return texts;
}

}  // namespace mtst
