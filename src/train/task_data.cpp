// Task data loading (see task_data.h). A row is bad when its text is missing, empty or only
// whitespace, its label is missing or not one of the label names / integers 0..C-1, or (CSV)
// its field count differs from the header's. Whole-file problems are always errors.
#include "mtst/train/task_data.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "mtst/error.h"
#include "mtst/io/csv.h"

namespace mtst {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string trim(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && is_space(s[begin])) ++begin;
  while (end > begin && is_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

bool is_blank(const std::string& s) { return std::all_of(s.begin(), s.end(), is_space); }

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

// Collects examples and bad rows for one file.
class Loader {
 public:
  explicit Loader(const TaskDataSpec& spec) : spec_(spec) {
    if (spec.labels.empty()) throw Error(spec.path + ": the task has no label names");
    for (size_t i = 0; i < spec.labels.size(); ++i) {
      if (!label_ids_.emplace(spec.labels[i], static_cast<int64_t>(i)).second) {
        throw Error(spec.path + ": label name \"" + spec.labels[i] + "\" is listed twice");
      }
    }
  }

  // A label given as text: a name (trimmed, case-sensitive), else a decimal integer.
  std::optional<int64_t> label_from_text(const std::string& raw) const {
    const std::string s = trim(raw);
    auto it = label_ids_.find(s);
    if (it != label_ids_.end()) return it->second;
    if (s.empty() || s.size() > 18) return std::nullopt;
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    return label_from_int(std::stoll(s));
  }

  std::optional<int64_t> label_from_int(int64_t v) const {
    if (v < 0 || v >= static_cast<int64_t>(spec_.labels.size())) return std::nullopt;
    return v;
  }

  std::string describe_label(const std::string& raw) const {
    std::string names;
    for (const auto& n : spec_.labels) names += (names.empty() ? "" : ", ") + n;
    return "unknown label \"" + raw + "\" (expected one of " + names + " or 0.." +
           std::to_string(spec_.labels.size() - 1) + ")";
  }

  void bad_row(size_t line, const std::string& why) {
    std::string reason = spec_.path + ":" + std::to_string(line) + ": " + why;
    if (!spec_.skip_bad_rows) throw Error(reason);
    ++data_.skipped;
    if (data_.skip_reasons.size() < kMaxSkipReasons) data_.skip_reasons.push_back(reason);
  }

  void add(size_t line, const std::string& text, std::optional<int64_t> label,
           const std::string& raw_label) {
    if (is_blank(text)) return bad_row(line, "empty text");
    if (!label) {
      return bad_row(line, is_blank(raw_label) ? "missing label" : describe_label(raw_label));
    }
    data_.examples.push_back({text, *label});
  }

  void load_csv(std::istream& in) {
    bool have_header = false;
    size_t columns = 0, text_index = 0, label_index = 0;
    for_each_csv_record(in, spec_.path, [&](const std::vector<std::string>& fields, size_t line) {
      if (!have_header) {
        have_header = true;
        columns = fields.size();
        text_index = column_index(fields, spec_.text_column);
        label_index = column_index(fields, spec_.label_column);
        return;
      }
      if (fields.size() != columns) {
        return bad_row(line, "expected " + std::to_string(columns) + " fields, found " +
                                 std::to_string(fields.size()));
      }
      add(line, fields[text_index], label_from_text(fields[label_index]), fields[label_index]);
    });
    if (!have_header) throw Error(spec_.path + ": empty file (expected a header line)");
  }

  void load_jsonl(std::istream& in) {
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
      if (is_blank(line)) continue;
      nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded() || !record.is_object()) {
        bad_row(number, "not a JSON object");
        continue;
      }
      auto text = record.find(spec_.text_column);
      if (text == record.end() || !text->is_string()) {
        bad_row(number, "no string field \"" + spec_.text_column + "\"");
        continue;
      }
      auto label = record.find(spec_.label_column);
      if (label == record.end() || label->is_null()) {
        bad_row(number, "no field \"" + spec_.label_column + "\"");
      } else if (label->is_string()) {
        const auto& raw = label->get_ref<const std::string&>();
        add(number, text->get_ref<const std::string&>(), label_from_text(raw), raw);
      } else if (label->is_number_integer()) {
        add(number, text->get_ref<const std::string&>(),
            label->is_number_unsigned() && label->get<uint64_t>() > INT64_MAX
                ? std::nullopt
                : label_from_int(label->get<int64_t>()),
            label->dump());
      } else {
        bad_row(number, describe_label(label->dump()));
      }
    }
  }

  TaskData take() { return std::move(data_); }

 private:
  size_t column_index(const std::vector<std::string>& header, const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<size_t>(it - header.begin());
    std::string columns;
    for (const auto& h : header) columns += (columns.empty() ? "" : ", ") + h;
    throw Error(spec_.path + ": no column \"" + name + "\" in the header (columns: " + columns +
                ")");
  }

  const TaskDataSpec& spec_;
  std::unordered_map<std::string, int64_t> label_ids_;
  TaskData data_;
};

}  // namespace

TaskData load_task_data(const TaskDataSpec& spec) {
  const bool jsonl = ends_with(spec.path, ".jsonl");
  if (!jsonl && !ends_with(spec.path, ".csv")) {
    throw Error(spec.path + ": task data must be a .csv or .jsonl file");
  }
  if (std::filesystem::is_directory(spec.path)) {
    throw Error("task data " + spec.path + " is a directory, not a .csv/.jsonl file");
  }
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) throw Error("cannot open task data file " + spec.path);
  Loader loader(spec);
  if (jsonl) {
    loader.load_jsonl(in);
  } else {
    loader.load_csv(in);
  }
  if (in.bad()) throw Error("error while reading " + spec.path);
  return loader.take();
}

}  // namespace mtst
