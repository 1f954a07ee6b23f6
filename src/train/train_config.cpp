// Parsing, validating and serialising the training configuration, and "--set" overrides.
// One table (kSchema) lists the keys of every object in the layout; both the unknown-key
// check and apply_override read it, so the two cannot drift apart.
#include "mtst/train/train_config.h"

#include <algorithm>
#include <set>

#include "mtst/error.h"
#include "mtst/io/json_file.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Object path ("" = top level, "tasks[]" = one task) -> its keys.
const std::map<std::string, std::vector<std::string>>& schema() {
  static const std::map<std::string, std::vector<std::string>> kSchema = {
      {"",
       {"backbone", "tasks", "sampling", "optimizer", "schedule", "early_stopping", "training"}},
      {"backbone", {"model", "init", "config", "tokenizer", "pooling", "max_seq_length"}},
      {"tasks[]",
       {"name", "files", "text_column", "label_column", "labels", "skip_bad_rows", "head",
        "loss_weight", "class_weights"}},
      {"tasks[].files", {"train", "validation", "test"}},
      {"tasks[].head", {"hidden_size", "dropout", "activation"}},
      {"sampling", {"strategy", "temperature"}},
      {"optimizer",
       {"lr_backbone", "lr_heads", "weight_decay", "beta1", "beta2", "eps", "grad_clip"}},
      {"schedule", {"type", "warmup_ratio", "warmup_steps"}},
      {"early_stopping", {"monitor", "patience", "min_delta"}},
      {"training",
       {"batch_size", "max_epochs", "max_steps", "eval_interval", "seed", "precision", "threads",
        "device", "freeze"}},
  };
  return kSchema;
}

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

void check_freeze(const std::string& freeze, const std::vector<TaskConfig>& tasks,
                  const std::string& where) {
  if (freeze == "none" || freeze == "backbone" || freeze == "all" || freeze == "embeddings") {
    return;
  }
  const std::string expected =
      "\"none\", \"backbone\", \"all\", \"embeddings\", \"head:<task>\" or \"layers:<k>\"";
  if (freeze.rfind("head:", 0) == 0) {
    const std::string name = freeze.substr(5);
    std::vector<std::string> names;
    for (const auto& t : tasks) names.push_back(t.name);
    if (!contains(names, name)) {
      fail(where, "freeze", "names unknown task '" + name + "' (tasks: " + join(names) + ")");
    }
    return;
  }
  if (freeze.rfind("layers:", 0) == 0) {
    const std::string k = freeze.substr(7);
    const bool digits = !k.empty() && k.size() < 6 && std::all_of(k.begin(), k.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (digits && std::stoi(k) >= 1) return;
    fail(where, "freeze", "'" + freeze + "': layers:<k> needs an integer k >= 1");
  }
  fail(where, "freeze", "must be " + expected + " (got \"" + freeze + "\")");
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const fs::path& base_dir,
                                   const std::string& where) {
  if (!j.is_object()) throw Error(where + ": the training config must be a JSON object");
  check_keys(j, "", where);
  const PathResolver resolve(base_dir);
  TrainConfig c;

  // backbone
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
  if (backbone.contains("pooling") && !backbone.at("pooling").is_null()) {
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
  c.max_seq_length = static_cast<size_t>(int_at_least(backbone, "max_seq_length", 0, 0, bw));

  // tasks
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

  // sampling
  const json sampling = section(j, "sampling", "sampling", where);
  const std::string sw = where + ": sampling";
  c.sampling = parse_named(parse_sampling_strategy,
                           json_optional<std::string>(sampling, "strategy", "oversample", sw), sw,
                           "strategy");
  c.sampling_temperature = positive(sampling, "temperature", c.sampling_temperature, sw);

  // optimizer
  const json opt = section(j, "optimizer", "optimizer", where);
  const std::string ow = where + ": optimizer";
  c.lr_backbone = positive(opt, "lr_backbone", c.lr_backbone, ow);
  c.lr_heads = positive(opt, "lr_heads", c.lr_heads, ow);
  c.weight_decay = non_negative(opt, "weight_decay", c.weight_decay, ow);
  c.beta1 = in_unit_interval(opt, "beta1", c.beta1, ow);
  c.beta2 = in_unit_interval(opt, "beta2", c.beta2, ow);
  c.eps = positive(opt, "eps", c.eps, ow);
  c.grad_clip = non_negative(opt, "grad_clip", c.grad_clip, ow);

  // schedule
  const json sched = section(j, "schedule", "schedule", where);
  const std::string shw = where + ": schedule";
  c.schedule = one_of(sched, "type", c.schedule, {"linear", "cosine", "constant"}, shw);
  c.warmup_ratio = in_unit_interval(sched, "warmup_ratio", c.warmup_ratio, shw);
  c.warmup_steps = int_at_least(sched, "warmup_steps", c.warmup_steps, 0, shw);

  // early stopping
  const json es = section(j, "early_stopping", "early_stopping", where);
  const std::string ew = where + ": early_stopping";
  c.early_stopping_monitor = one_of(es, "monitor", c.early_stopping_monitor,
                                    {"val_loss", "val_accuracy", "val_macro_f1"}, ew);
  c.patience = int_at_least(es, "patience", c.patience, 0, ew);
  c.min_delta = non_negative(es, "min_delta", c.min_delta, ew);

  // training
  const json tr = section(j, "training", "training", where);
  const std::string tw = where + ": training";
  c.batch_size = static_cast<size_t>(int_at_least(tr, "batch_size", 32, 1, tw));
  c.max_epochs = int_at_least(tr, "max_epochs", c.max_epochs, 0, tw);
  c.max_steps = int_at_least(tr, "max_steps", c.max_steps, 0, tw);
  if (c.max_epochs == 0 && c.max_steps == 0) {
    throw Error(tw + ": key 'max_epochs' or key 'max_steps' must be > 0 (both are 0)");
  }
  c.eval_interval = int_at_least(tr, "eval_interval", c.eval_interval, 0, tw);
  if (tr.contains("seed") && !tr.at("seed").is_null()) {
    const json& seed = tr.at("seed");
    if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0)) {
      fail(tw, "seed", "must be an integer >= 0 (got " + json_for_message(seed) + ")");
    }
    c.seed = seed.get<uint64_t>();
  }
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
  const int64_t threads = int_at_least(tr, "threads", 0, 0, tw);
  require(threads <= 4096, tw, "threads", "at most 4096", threads);
  c.threads = static_cast<int>(threads);
  c.device = json_optional<std::string>(tr, "device", c.device, tw);
  c.freeze = json_optional<std::string>(tr, "freeze", c.freeze, tw);
  check_freeze(c.freeze, c.tasks, tw);
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
  return {
      {"backbone", backbone},
      {"tasks", task_list},
      {"sampling",
       {{"strategy", sampling_strategy_name(sampling)}, {"temperature", sampling_temperature}}},
      {"optimizer",
       {{"lr_backbone", lr_backbone},
        {"lr_heads", lr_heads},
        {"weight_decay", weight_decay},
        {"beta1", beta1},
        {"beta2", beta2},
        {"eps", eps},
        {"grad_clip", grad_clip}}},
      {"schedule",
       {{"type", schedule}, {"warmup_ratio", warmup_ratio}, {"warmup_steps", warmup_steps}}},
      {"early_stopping",
       {{"monitor", early_stopping_monitor}, {"patience", patience}, {"min_delta", min_delta}}},
      {"training",
       {{"batch_size", batch_size},
        {"max_epochs", max_epochs},
        {"max_steps", max_steps},
        {"eval_interval", eval_interval},
        {"seed", seed},
        {"precision", precision_name(precision)},
        {"threads", threads},
        {"device", device},
        {"freeze", freeze}}},
  };
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
