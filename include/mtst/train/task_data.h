// Loading one classification task's examples (text + class id) from a .csv file with a header
// or a .jsonl file with one object per line. Labels may be names from TaskDataSpec::labels or
// integers 0..C-1. Bad rows are skipped and counted, or rejected in strict mode. This does not
// shuffle, split, deduplicate, tokenize or change the texts in any way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mtst {

struct TaskDataSpec {  // from the training config (later); plain struct for now
  std::string path;    // .csv or .jsonl
  std::string text_column = "text";
  std::string label_column = "label";
  std::vector<std::string> labels;  // label names, index = class id
  bool skip_bad_rows = true;        // false: the first bad row is an error
};

struct Example {
  std::string text;
  int64_t label = 0;
};

struct TaskData {
  std::vector<Example> examples;
  size_t skipped = 0;
  std::vector<std::string> skip_reasons;  // the first kMaxSkipReasons, as "file:line: why"
};

inline constexpr size_t kMaxSkipReasons = 5;

// Throws mtst::Error for a missing/unreadable file, an unknown extension, an empty label
// list, a CSV header without the text or label column, malformed CSV quoting, and (with
// skip_bad_rows = false) the first bad row.
TaskData load_task_data(const TaskDataSpec& spec);

}  // namespace mtst
