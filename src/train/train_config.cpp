// Parsing, validating and serialising the training configuration, and "--set" overrides.
// One table (fields()) reads, validates and writes every key of the flat sections; schema(), the
// keys of every object in the layout, is built from it, and both the unknown-key check and
// apply_override read schema(), so parsing, printing and --set cannot drift apart.
#include "mtst/train/train_config.h"

#include <algorithm>
#include <functional>
#include <set>

#include "mtst/error.h"
#include "mtst/io/json_file.h"
#include "mtst/ops/exec_plan.h"
#include "mtst/train/freeze.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Object path ("" = top level, "tasks[]" = one task) -> its keys (defined below the fields).
const std::map<std::string, std::vector<std::string>>& schema();

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

[[noreturn]] void fail(const std::string& where, const std::string& key, const std::string& what) {
  throw Error(where + ": key '" + key + "' " + what);
}

template <typename T>
void require(bool ok, const std::string& where, const std::string& key, const std::string& expected,
             const T& got) {
  if (!ok) fail(where, key, "must be " + expected + " (got " + json_for_message(got) + ")");
}

void check_keys(const json& j, const std::string& schema_path, const std::string& where) {
  const auto& known = schema().at(schema_path);
  for (const auto& item : j.items()) {
    if (!contains(known, item.key())) {
      throw Error(where + ": unknown key '" + item.key() + "' (expected one of: " + join(known) +
                  ")");
    }
  }
}

// j[key] as an object checked against its schema; absent or null -> {}.
json section(const json& j, const std::string& key, const std::string& schema_path,
             const std::string& where) {
  if (!j.contains(key) || j.at(key).is_null()) return json::object();
  if (!j.at(key).is_object())
    fail(where, key, "must be an object (got " + json_for_message(j.at(key)) + ")");
  check_keys(j.at(key), schema_path, where + ": " + key);
  return j.at(key);
}

int64_t int_at_least(const json& j, const std::string& key, int64_t fallback, int64_t min,
                     const std::string& where) {
  const int64_t v = json_optional<int64_t>(j, key, fallback, where);
  require(v >= min, where, key, "an integer >= " + std::to_string(min), v);
  return v;
}

double positive(const json& j, const std::string& key, double fallback, const std::string& where) {
  const double v = json_optional<double>(j, key, fallback, where);
  require(v > 0, where, key, "> 0", v);
  return v;
}

double non_negative(const json& j, const std::string& key, double fallback,
                    const std::string& where) {
  const double v = json_optional<double>(j, key, fallback, where);
  require(v >= 0, where, key, ">= 0", v);
  return v;
}

double in_unit_interval(const json& j, const std::string& key, double fallback,
                        const std::string& where) {
  const double v = json_optional<double>(j, key, fallback, where);
  require(v >= 0 && v < 1, where, key, "in [0, 1)", v);
  return v;
}

std::string one_of(const json& j, const std::string& key, const std::string& fallback,
                   const std::vector<std::string>& choices, const std::string& where) {
  const std::string v = json_optional<std::string>(j, key, fallback, where);
  require(contains(choices, v), where, key, "one of " + join(choices), v);
  return v;
}

// Runs a parse_* function, re-throwing its error with the file and key in front.
template <typename F>
auto parse_named(F parse, const std::string& value, const std::string& where,
                 const std::string& key) {
  try {
    return parse(value);
  } catch (const Error& e) {
    fail(where, key, std::string("is invalid: ") + e.what());
  }
}

class PathResolver {
 public:
  explicit PathResolver(const fs::path& base_dir)
      : base_(base_dir.empty() ? fs::current_path() : fs::absolute(base_dir)) {}
  std::string operator()(const std::string& path) const {
    return (base_ / path).lexically_normal().string();
  }

 private:
  fs::path base_;
};

std::string non_empty_path(const json& j, const std::string& key, const std::string& where) {
  const std::string v = json_required<std::string>(j, key, where);
  if (v.empty()) fail(where, key, "is empty (expected a file path)");
  return v;
}

std::vector<std::string> parse_labels(const json& task, const std::string& where) {
  if (!task.contains("labels") || task.at("labels").is_null()) {
    fail(where, "labels", "is missing (expected the list of class names, index = class id)");
  }
  const json& labels = task.at("labels");
  if (!labels.is_array()) fail(where, "labels", "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& label : labels) {
    if (!label.is_string() || label.get<std::string>().empty()) {
      fail(where, "labels", "must hold non-empty strings (got " + json_for_message(label) + ")");
    }
    const std::string name = label.get<std::string>();
    if (contains(out, name)) fail(where, "labels", "lists '" + name + "' twice");
    out.push_back(name);
  }
  if (out.size() < 2)
    fail(where, "labels", "must list at least 2 classes (got " + json_for_message(labels) + ")");
  return out;
}

TaskConfig parse_task(const json& j, size_t index, const PathResolver& resolve,
                      const std::string& file_where) {
  std::string where = file_where + ": tasks[" + std::to_string(index) + "]";
  if (!j.is_object()) throw Error(where + ": must be an object (got " + json_for_message(j) + ")");
  check_keys(j, "tasks[]", where);
  TaskConfig task;
  task.name = json_required<std::string>(j, "name", where);
  require(!task.name.empty() && task.name.find('.') == std::string::npos, where, "name",
          "a non-empty name without '.'", task.name);
  where = file_where + ": task '" + task.name + "'";

  TaskDataSpec spec;
  spec.text_column = json_optional<std::string>(j, "text_column", spec.text_column, where);
  spec.label_column = json_optional<std::string>(j, "label_column", spec.label_column, where);
  require(!spec.text_column.empty(), where, "text_column", "a column name", spec.text_column);
  require(!spec.label_column.empty(), where, "label_column", "a column name", spec.label_column);
  spec.labels = parse_labels(j, where);
  spec.skip_bad_rows = json_optional<bool>(j, "skip_bad_rows", spec.skip_bad_rows, where);

  if (!j.contains("files") || j.at("files").is_null()) {
    fail(where, "files", "is missing (expected {\"train\": path, ...})");
  }
  const json files = section(j, "files", "tasks[].files", where);
  const std::string files_where = where + ": files";
  if (!files.contains("train") || files.at("train").is_null()) {
    fail(files_where, "train", "is missing (every task needs a training file)");
  }
  for (const char* split : {"train", "validation", "test"}) {
    if (!files.contains(split) || files.at(split).is_null()) continue;
    TaskDataSpec s = spec;
    s.path = resolve(non_empty_path(files, split, files_where));
    task.splits[split] = s;
  }

  const json head = section(j, "head", "tasks[].head", where);
  const std::string head_where = where + ": head";
  task.head.hidden_size = int_at_least(head, "hidden_size", task.head.hidden_size, 1, head_where);
  task.head.dropout = in_unit_interval(head, "dropout", task.head.dropout, head_where);
  task.head.activation =
      one_of(head, "activation", task.head.activation, {"relu", "gelu", "tanh"}, head_where);

  task.loss_weight = positive(j, "loss_weight", task.loss_weight, where);
  if (j.contains("class_weights") && !j.at("class_weights").is_null()) {
    const json& weights = j.at("class_weights");
    if (!weights.is_array()) fail(where, "class_weights", "must be a list of numbers");
    for (const auto& w : weights) {
      if (!w.is_number() || !(w.get<double>() > 0)) {
        fail(where, "class_weights", "must hold numbers > 0 (got " + json_for_message(w) + ")");
      }
      task.class_weights.push_back(w.get<double>());
    }
    if (!task.class_weights.empty() && task.class_weights.size() != spec.labels.size()) {
      fail(where, "class_weights",
           "has " + std::to_string(task.class_weights.size()) + " entries but the task has " +
               std::to_string(spec.labels.size()) + " labels (one weight per label)");
    }
  }
  return task;
}

// FREEZE as the trainer will parse it (FreezePolicy), with what only the config knows checked
// here: the task of head:<task>, and layers:<k> with k >= 1.
void check_freeze(const std::string& freeze, const std::vector<TaskConfig>& tasks,
                  const std::string& where) {
  const FreezePolicy policy = parse_named(FreezePolicy::parse, freeze, where, "freeze");
  if (policy.kind == FreezePolicy::Kind::kHead) {
    std::vector<std::string> names;
    for (const auto& t : tasks) names.push_back(t.name);
    if (!contains(names, policy.task)) {
      fail(where, "freeze",
           "names unknown task '" + policy.task + "' (tasks: " + join(names) + ")");
    }
  }
  if (policy.kind == FreezePolicy::Kind::kLayers && policy.layers < 1) {
    fail(where, "freeze", "'" + freeze + "': layers:<k> needs an integer k >= 1");
  }
}

// One key of the flat sections (sampling, optimizer, schedule, early_stopping, training):
// how it is read into a TrainConfig (validated, WHERE names the section) and written back.
// The table below drives from_json, to_json, the unknown-key check and --set alike, so a new
// key of these sections is a struct member and one row.
struct Field {
  const char* section;
  const char* key;
  std::function<void(TrainConfig&, const json&, const std::string&)> read;
  std::function<json(const TrainConfig&)> write;
};

template <typename T>
std::function<json(const TrainConfig&)> writer(T TrainConfig::*member) {
  return [member](const TrainConfig& c) { return json(c.*member); };
}

// A double member read with CHECK (positive, non_negative, in_unit_interval).
Field number(const char* section, const char* key, double TrainConfig::*member,
             double (*check)(const json&, const std::string&, double, const std::string&)) {
  return {section, key,
          [=](TrainConfig& c, const json& j, const std::string& w) {
            c.*member = check(j, key, c.*member, w);
          },
          writer(member)};
}

Field integer(const char* section, const char* key, int64_t TrainConfig::*member, int64_t min) {
  return {section, key,
          [=](TrainConfig& c, const json& j, const std::string& w) {
            c.*member = int_at_least(j, key, c.*member, min, w);
          },
          writer(member)};
}

Field choice(const char* section, const char* key, std::string TrainConfig::*member,
             std::vector<std::string> choices) {
  return {section, key,
          [=](TrainConfig& c, const json& j, const std::string& w) {
            c.*member = one_of(j, key, c.*member, choices, w);
          },
          writer(member)};
}

void read_seed(TrainConfig& c, const json& tr, const std::string& tw) {
  if (!tr.contains("seed") || tr.at("seed").is_null()) return;
  const json& seed = tr.at("seed");
  if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0)) {
    fail(tw, "seed", "must be an integer >= 0 (got " + json_for_message(seed) + ")");
  }
  c.seed = seed.get<uint64_t>();
}

void read_precision(TrainConfig& c, const json& tr, const std::string& tw) {
  c.precision = parse_named(
      parse_precision, json_optional<std::string>(tr, "precision", "fp32", tw), tw, "precision");
  if (c.precision == Precision::kInt8) {
    fail(tw, "precision",
         "is int8, which is for inference (encode, predict, evaluate, serve); train in fp32 or "
         "bf16 and run the result with --precision int8");
  }
  if (c.precision == Precision::kFp16) {
    fail(tw, "precision",
         "is fp16, which mtst does not train in (fp16 gradients need loss scaling, which the "
         "trainer does not do); use bf16 on a GPU, or fp32");
  }
}

void read_threads(TrainConfig& c, const json& tr, const std::string& tw) {
  const int64_t threads = int_at_least(tr, "threads", 0, 0, tw);
  require(threads <= 4096, tw, "threads", "at most 4096", threads);
  c.threads = static_cast<int>(threads);
}

const std::vector<Field>& fields() {
  using C = TrainConfig;
  static const std::vector<Field> kFields = {
      {"sampling", "strategy",
       [](C& c, const json& j, const std::string& w) {
         c.sampling =
             parse_named(parse_sampling_strategy,
                         json_optional<std::string>(j, "strategy", "oversample", w), w, "strategy");
       },
       [](const C& c) { return json(sampling_strategy_name(c.sampling)); }},
      number("sampling", "temperature", &C::sampling_temperature, positive),
      number("optimizer", "lr_backbone", &C::lr_backbone, positive),
      number("optimizer", "lr_heads", &C::lr_heads, positive),
      number("optimizer", "weight_decay", &C::weight_decay, non_negative),
      number("optimizer", "beta1", &C::beta1, in_unit_interval),
      number("optimizer", "beta2", &C::beta2, in_unit_interval),
      number("optimizer", "eps", &C::eps, positive),
      number("optimizer", "grad_clip", &C::grad_clip, non_negative),
      choice("schedule", "type", &C::schedule, {"linear", "cosine", "constant"}),
      number("schedule", "warmup_ratio", &C::warmup_ratio, in_unit_interval),
      integer("schedule", "warmup_steps", &C::warmup_steps, 0),
      choice("early_stopping", "monitor", &C::early_stopping_monitor,
             {"val_loss", "val_accuracy", "val_macro_f1"}),
      integer("early_stopping", "patience", &C::patience, 0),
      number("early_stopping", "min_delta", &C::min_delta, non_negative),
      {"training", "batch_size",
       [](C& c, const json& j, const std::string& w) {
         c.batch_size = static_cast<size_t>(int_at_least(j, "batch_size", 32, 1, w));
       },
       writer(&C::batch_size)},
      integer("training", "max_epochs", &C::max_epochs, 0),
      integer("training", "max_steps", &C::max_steps, 0),
      integer("training", "eval_interval", &C::eval_interval, 0),
      {"training", "seed", read_seed, writer(&C::seed)},
      {"training", "precision", read_precision,
       [](const C& c) { return json(precision_name(c.precision)); }},
      {"training", "threads", read_threads, writer(&C::threads)},
      {"training", "device",
       [](C& c, const json& j, const std::string& w) {
         c.device = json_optional<std::string>(j, "device", c.device, w);
       },
       writer(&C::device)},
      {"training", "freeze",
       [](C& c, const json& j, const std::string& w) {
         c.freeze = json_optional<std::string>(j, "freeze", c.freeze, w);
         check_freeze(c.freeze, c.tasks, w);
       },
       writer(&C::freeze)},
  };
  return kFields;
}

// The sections of fields(), in their order.
std::vector<std::string> flat_sections() {
  std::vector<std::string> out;
  for (const auto& f : fields()) {
    if (!contains(out, f.section)) out.push_back(f.section);
  }
  return out;
}

// Object path ("" = top level, "tasks[]" = one task) -> its keys.
const std::map<std::string, std::vector<std::string>>& schema() {
  static const std::map<std::string, std::vector<std::string>> kSchema = [] {
    std::map<std::string, std::vector<std::string>> out = {
        {"", {"backbone", "tasks"}},
        {"backbone", {"model", "init", "config", "tokenizer", "pooling", "max_seq_length"}},
        {"tasks[]",
         {"name", "files", "text_column", "label_column", "labels", "skip_bad_rows", "head",
          "loss_weight", "class_weights"}},
        {"tasks[].files", {"train", "validation", "test"}},
        {"tasks[].head", {"hidden_size", "dropout", "activation"}},
    };
    for (const auto& section : flat_sections()) out[""].push_back(section);
    for (const auto& f : fields()) out[f.section].push_back(f.key);
    return out;
  }();
  return kSchema;
}

void read_flat_sections(TrainConfig& c, const json& j, const std::string& where) {
  for (const auto& name : flat_sections()) {
    const json sec = section(j, name, name, where);
    const std::string sw = where + ": " + name;
    for (const auto& f : fields()) {
      if (f.section == name) f.read(c, sec, sw);
    }
  }
  if (c.max_epochs == 0 && c.max_steps == 0) {
    throw Error(where + ": training: key 'max_epochs' or key 'max_steps' must be > 0 (both are 0)");
  }
}
}  // namespace

namespace {

void parse_pooling(TrainConfig& c, const json& backbone, const std::string& bw) {
  if (!backbone.contains("pooling") || backbone.at("pooling").is_null()) return;
  const json& p = backbone.at("pooling");
  const json modes = p.is_string() ? json::array({p}) : p;
  if (!modes.is_array()) fail(bw, "pooling", "must be a mode name or a list of them");
  for (const auto& m : modes) {
    if (!m.is_string())
      fail(bw, "pooling", "must hold mode names (got " + json_for_message(m) + ")");
    const PoolingMode mode = parse_named(parse_pooling_mode, m.get<std::string>(), bw, "pooling");
    if (std::find(c.pooling.begin(), c.pooling.end(), mode) != c.pooling.end()) {
      fail(bw, "pooling", "lists '" + m.get<std::string>() + "' twice");
    }
    c.pooling.push_back(mode);
  }
}

void parse_backbone(TrainConfig& c, const json& j, const PathResolver& resolve,
                    const std::string& where) {
  if (!j.contains("backbone") || j.at("backbone").is_null()) {
    fail(where, "backbone",
         "is missing (expected {\"model\": dir} or {\"init\": \"random\", "
         "\"config\": bert_config.json})");
  }
  const json backbone = section(j, "backbone", "backbone", where);
  const std::string bw = where + ": backbone";
  const bool has_model = backbone.contains("model") && !backbone.at("model").is_null();
  const bool has_init = backbone.contains("init") && !backbone.at("init").is_null();
  if (has_model && has_init) {
    throw Error(bw + ": give either key 'model' or key 'init', not both");
  }
  if (!has_model && !has_init) {
    throw Error(bw +
                ": needs key 'model' (a model directory) or key 'init' (\"random\", with "
                "key 'config')");
  }
  if (has_model) {
    c.backbone_model_dir = resolve(non_empty_path(backbone, "model", bw));
    for (const char* key : {"config", "tokenizer"}) {
      if (backbone.contains(key) && !backbone.at(key).is_null()) {
        fail(bw, key, "only goes with 'init' (a model directory holds its own)");
      }
    }
  } else {
    c.backbone_init = one_of(backbone, "init", "", {"random"}, bw);
    if (!backbone.contains("config") || backbone.at("config").is_null()) {
      fail(bw, "config", "is missing (\"init\": \"random\" needs a BERT config.json)");
    }
    c.backbone_config = resolve(non_empty_path(backbone, "config", bw));
    c.backbone_tokenizer = backbone.contains("tokenizer") && !backbone.at("tokenizer").is_null()
                               ? resolve(non_empty_path(backbone, "tokenizer", bw))
                               : std::filesystem::path(c.backbone_config).parent_path().string();
  }
  parse_pooling(c, backbone, bw);
  c.max_seq_length = static_cast<size_t>(int_at_least(backbone, "max_seq_length", 0, 0, bw));
}

void parse_tasks(TrainConfig& c, const json& j, const PathResolver& resolve,
                 const std::string& where) {
  if (!j.contains("tasks") || !j.at("tasks").is_array() || j.at("tasks").empty()) {
    fail(where, "tasks", "must be a non-empty list of task objects");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j.at("tasks").size(); ++i) {
    c.tasks.push_back(parse_task(j.at("tasks")[i], i, resolve, where));
    if (!names.insert(c.tasks.back().name).second) {
      fail(where + ": tasks[" + std::to_string(i) + "]", "name",
           "'" + c.tasks.back().name + "' is used by another task (task names must be unique)");
    }
  }
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const fs::path& base_dir,
                                   const std::string& where) {
  if (!j.is_object()) throw Error(where + ": the training config must be a JSON object");
  check_keys(j, "", where);
  const PathResolver resolve(base_dir);
  TrainConfig c;
  parse_backbone(c, j, resolve, where);
  parse_tasks(c, j, resolve, where);
  read_flat_sections(c, j, where);
  return c;
}

TrainConfig TrainConfig::from_file(const fs::path& path,
                                   const std::vector<std::string>& overrides) {
  json j = read_json_file(path);
  for (const auto& assignment : overrides) apply_override(j, assignment);
  return from_json(j, fs::absolute(path).parent_path(), path.string());
}

json TrainConfig::to_json() const {
  json backbone = json::object();
  if (!backbone_model_dir.empty()) {
    backbone["model"] = backbone_model_dir;
  } else {
    backbone["init"] = backbone_init;
    backbone["config"] = backbone_config;
    backbone["tokenizer"] = backbone_tokenizer;
  }
  json modes = json::array();
  for (PoolingMode m : pooling) modes.push_back(pooling_mode_name(m));
  backbone["pooling"] = modes;
  backbone["max_seq_length"] = max_seq_length;

  json task_list = json::array();
  for (const auto& t : tasks) {
    const TaskDataSpec& spec = t.splits.empty() ? TaskDataSpec() : t.splits.begin()->second;
    json files = json::object();
    for (const auto& [split, s] : t.splits) files[split] = s.path;
    task_list.push_back({{"name", t.name},
                         {"files", files},
                         {"text_column", spec.text_column},
                         {"label_column", spec.label_column},
                         {"labels", spec.labels},
                         {"skip_bad_rows", spec.skip_bad_rows},
                         {"head",
                          {{"hidden_size", t.head.hidden_size},
                           {"dropout", t.head.dropout},
                           {"activation", t.head.activation}}},
                         {"loss_weight", t.loss_weight},
                         {"class_weights", t.class_weights}});
  }
  json out = {{"backbone", backbone}, {"tasks", task_list}};
  for (const auto& f : fields()) out[f.section][f.key] = f.write(*this);
  return out;
}

void apply_override(json& config, const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(where + ": expected key=value (e.g. optimizer.lr_heads=5e-4)");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  std::vector<std::string> segments;
  for (size_t start = 0;;) {
    const size_t dot = key.find('.', start);
    segments.push_back(key.substr(start, dot - start));
    if (segments.back().empty()) throw Error(where + ": key '" + key + "' has an empty segment");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    // Taken as a string, which the saved config (JSON) could not hold unless it is UTF-8.
    try {
      (void)json(text).dump();
    } catch (const json::exception&) {
      throw Error(where + ": the value is not valid UTF-8");
    }
    value = text;
  }

  if (config.is_null()) config = json::object();
  json* node = &config;
  std::string path;   // schema path of *node
  std::string shown;  // the key so far, for messages
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    const bool last = i + 1 == segments.size();
    if (path == "tasks") {  // *node is the task list: SEG names a task
      if (!node->is_array()) throw Error(where + ": key 'tasks' is not a list in the config");
      json* found = nullptr;
      std::vector<std::string> names;
      for (auto& task : *node) {
        if (task.is_object() && task.contains("name") && task.at("name").is_string()) {
          names.push_back(task.at("name").get<std::string>());
          if (names.back() == seg) found = &task;
        }
      }
      if (found == nullptr) {
        throw Error(where + ": key '" + key + "' names unknown task '" + seg +
                    "' (tasks: " + join(names) + ")");
      }
      if (last) throw Error(where + ": key '" + key + "' names a whole task; set one of its keys");
      node = found;
      path = "tasks[]";
      shown += "." + seg;
      continue;
    }
    if (!node->is_object()) {
      throw Error(where + ": key '" + shown + "' is not an object in the config");
    }
    const auto& known = schema().at(path);
    if (!contains(known, seg)) {
      throw Error(where + ": unknown key '" + seg + "'" +
                  (shown.empty() ? "" : " in '" + shown + "'") +
                  " (expected one of: " + join(known) + ")");
    }
    shown += (shown.empty() ? "" : ".") + seg;
    if (last) {
      (*node)[seg] = value;
      return;
    }
    const std::string child = path.empty() ? seg : path + "." + seg;
    if (child != "tasks" && schema().count(child) == 0) {
      throw Error(where + ": key '" + shown + "' is a value, not an object");
    }
    if (child != "tasks" && (!node->contains(seg) || (*node)[seg].is_null())) {
      (*node)[seg] = json::object();
    }
    node = &(*node)[seg];
    path = child;
  }
}

}  // namespace mtst
