// Parses tokenizer.json / vocab.txt / tokenizer_config.json / special_tokens_map.json into a
// TokenizerSpec, with errors naming the file and key. It validates shapes and supported types
// but builds no runtime structures (no hash maps, no matchers).
#include "text/tokenizer_files.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "mtst/error.h"

namespace mtst::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string() + ": read error");
  return content;
}

json read_json(const fs::path& path) {
  const std::string content = read_file(path);
  json root;
  try {
    root = json::parse(content);
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!root.is_object()) throw Error(path.string() + ": expected a JSON object at the top level");
  return root;
}

// Typed access to optional keys; `file` and `prefix` only serve the error messages.
class JsonView {
 public:
  JsonView(const json& object, std::string file, std::string prefix = "")
      : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

  const json* get(const std::string& key) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string where(const std::string& key) const {
    return file_ + ": key '" + prefix_ + key + "'";
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    const json* value = get(key);
    throw Error(where(key) + " " + (value ? "is " + value->dump().substr(0, 80) : "is missing") +
                " (expected " + expected + ")");
  }
  bool boolean(const std::string& key, bool fallback) const {
    const json* v = get(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(key, "true or false");
    return v->get<bool>();
  }
  std::optional<bool> optional_boolean(const std::string& key) const {
    if (!get(key)) return std::nullopt;
    return boolean(key, false);
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    const json* v = get(key);
    if (!v) return fallback;
    if (!v->is_string()) fail(key, "a string");
    return v->get<std::string>();
  }
  int64_t integer(const std::string& key, int64_t fallback) const {
    const json* v = get(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) fail(key, "an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}) {
      fail(key, "an integer below 2^63");
    }
    return v->get<int64_t>();
  }
  JsonView child(const std::string& key) const {
    const json* v = get(key);
    if (!v || !v->is_object()) fail(key, "an object");
    return JsonView(*v, file_, prefix_ + key + ".");
  }
  const json& object() const { return object_; }
  const std::string& file() const { return file_; }

 private:
  const json& object_;
  std::string file_;
  std::string prefix_;
};

// A special token in tokenizer_config.json / special_tokens_map.json: a string, or an
// AddedToken object whose "content" is the string.
std::optional<std::string> special_token_name(const JsonView& view, const std::string& key) {
  const json* v = view.get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("content") && (*v)["content"].is_string()) {
    return (*v)["content"].get<std::string>();
  }
  view.fail(key, "a string or an object with a string 'content'");
}

size_t sane_model_max_length(const JsonView& config) {
  const json* v = config.get("model_max_length");
  if (!v || !v->is_number()) return 0;
  const double value = v->get<double>();
  return value >= 1 && value < 1e6 ? static_cast<size_t>(value) : 0;
}

int64_t vocab_id_or(const std::unordered_map<std::string, int64_t>& vocab,
                    const std::string& content, int64_t fallback) {
  auto it = vocab.find(content);
  return it == vocab.end() ? fallback : it->second;
}

void read_normalizer(const JsonView& root, TokenizerSpec* spec) {
  if (!root.get("normalizer")) {  // null: HF does not normalize at all
    spec->normalizer = NormalizerOptions{false, false, false, false};
    return;
  }
  const JsonView n = root.child("normalizer");
  const std::string type = n.string("type", "");
  if (type != "BertNormalizer") {
    n.fail("type", "\"BertNormalizer\" (only BERT tokenizers are supported)");
  }
  NormalizerOptions options;
  options.clean_text = n.boolean("clean_text", true);
  options.handle_chinese_chars = n.boolean("handle_chinese_chars", true);
  options.lowercase = n.boolean("lowercase", true);
  options.strip_accents = n.optional_boolean("strip_accents").value_or(options.lowercase);
  spec->normalizer = options;
}

void read_post_processor(const JsonView& root, TokenizerSpec* spec) {
  if (!root.get("post_processor")) return;  // null: fall back to the [CLS]/[SEP] names
  const JsonView p = root.child("post_processor");
  const std::string type = p.string("type", "");
  if (type == "BertProcessing") {
    for (const char* key : {"cls", "sep"}) {
      const json* pair = p.get(key);
      if (!pair || !pair->is_array() || pair->size() != 2 || !(*pair)[0].is_string() ||
          !(*pair)[1].is_number_integer()) {
        p.fail(key, "[token, id]");
      }
      (std::string(key) == "cls" ? spec->cls_id : spec->sep_id) = (*pair)[1].get<int64_t>();
    }
    return;
  }
  if (type != "TemplateProcessing") {
    p.fail("type", "\"TemplateProcessing\" or \"BertProcessing\"");
  }
  const json* single = p.get("single");
  const char* shape = "[{SpecialToken}, {Sequence A}, {SpecialToken}] (the BERT template)";
  if (!single || !single->is_array() || single->size() != 3) p.fail("single", shape);
  const json& first = (*single)[0];
  const json& middle = (*single)[1];
  const json& last = (*single)[2];
  if (!first.is_object() || !first.contains("SpecialToken") || !middle.is_object() ||
      !middle.contains("Sequence") || !last.is_object() || !last.contains("SpecialToken")) {
    p.fail("single", shape);
  }
  const JsonView specials = p.child("special_tokens");
  auto resolve = [&](const json& piece) -> int64_t {
    // at(), never the const operator[]: a missing key there is undefined behaviour (found by
    // fuzz/tokenizer_json_fuzz.cpp with {"SpecialToken": {"id[": ...}}).
    const json& token = piece.at("SpecialToken");
    if (!token.is_object() || !token.contains("id") || !token.at("id").is_string()) {
      p.fail("single", shape);
    }
    const std::string name = token.at("id").get<std::string>();
    const json* entry = specials.get(name);
    if (!entry || !entry->is_object() || !entry->contains("ids") || !(*entry)["ids"].is_array() ||
        (*entry)["ids"].size() != 1 || !(*entry)["ids"][0].is_number_integer()) {
      specials.fail(name, "an object with \"ids\": [one id]");
    }
    return (*entry)["ids"][0].get<int64_t>();
  };
  spec->cls_id = resolve(first);
  spec->sep_id = resolve(last);
}

void read_tokenizer_json(const fs::path& file, TokenizerSpec* spec) {
  const json doc = read_json(file);
  const JsonView root(doc, file.string());
  spec->source = file.string();

  const JsonView model = root.child("model");
  const std::string type = model.string("type", "WordPiece");
  if (type != "WordPiece") model.fail("type", "\"WordPiece\" (only BERT tokenizers are supported)");
  const json* vocab = model.get("vocab");
  if (!vocab || !vocab->is_object()) model.fail("vocab", "an object mapping token -> id");
  std::unordered_map<std::string, int64_t> lookup;
  lookup.reserve(vocab->size());
  spec->vocab.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer()) model.fail("vocab", "integer ids");
    spec->vocab.emplace_back(it.key(), it.value().get<int64_t>());
    lookup.emplace(it.key(), it.value().get<int64_t>());
  }
  spec->wordpiece.unk_token = model.string("unk_token", "[UNK]");
  spec->wordpiece.continuing_subword_prefix = model.string("continuing_subword_prefix", "##");
  const int64_t max_chars = model.integer("max_input_chars_per_word", 100);
  if (max_chars < 0) model.fail("max_input_chars_per_word", "a non-negative integer");
  spec->wordpiece.max_input_chars_per_word = static_cast<size_t>(max_chars);

  read_normalizer(root, spec);
  const std::string pre =
      root.get("pre_tokenizer") ? root.child("pre_tokenizer").string("type", "") : std::string();
  if (pre != "BertPreTokenizer") {
    root.fail("pre_tokenizer", "{\"type\": \"BertPreTokenizer\"}");
  }
  read_post_processor(root, spec);

  if (const json* added = root.get("added_tokens")) {
    if (!added->is_array()) root.fail("added_tokens", "an array");
    for (size_t i = 0; i < added->size(); ++i) {
      if (!(*added)[i].is_object()) root.fail("added_tokens", "an array of objects");
      const JsonView t((*added)[i], file.string(), "added_tokens[" + std::to_string(i) + "].");
      AddedToken token;
      token.content = t.string("content", "");
      if (token.content.empty()) t.fail("content", "a non-empty string");
      token.special = t.boolean("special", false);
      token.single_word = t.boolean("single_word", false);
      token.lstrip = t.boolean("lstrip", false);
      token.rstrip = t.boolean("rstrip", false);
      token.normalized = t.boolean("normalized", !token.special);
      if (!t.get("id")) t.fail("id", "an integer");
      token.id = vocab_id_or(lookup, token.content, t.integer("id", 0));
      spec->added_tokens.push_back(std::move(token));
    }
  }

  if (root.get("padding")) {
    const JsonView padding = root.child("padding");
    spec->pad_token = padding.string("pad_token", spec->pad_token);
    if (padding.get("pad_id")) spec->pad_id = padding.integer("pad_id", 0);
  }
}

void read_vocab_txt(const fs::path& file, TokenizerSpec* spec) {
  const std::string content = read_file(file);
  spec->source = file.string();
  size_t begin = 0;
  int64_t index = 0;
  while (begin < content.size()) {
    size_t end = content.find('\n', begin);
    if (end == std::string::npos) end = content.size();
    size_t stop = end;
    if (stop > begin && content[stop - 1] == '\r') --stop;
    spec->vocab.emplace_back(content.substr(begin, stop - begin), index++);
    begin = end + 1;
  }
  if (spec->vocab.empty()) throw Error(file.string() + ": the vocabulary is empty");
}

// vocab.txt only: normalizer flags, special-token names and the added tokens.
void apply_vocab_txt_config(const fs::path& dir, const json* config_doc, TokenizerSpec* spec) {
  const json empty = json::object();
  const JsonView config(config_doc ? *config_doc : empty, (dir / "tokenizer_config.json").string());
  NormalizerOptions& n = spec->normalizer;
  n.clean_text = true;
  n.lowercase = config.boolean("do_lower_case", true);
  n.strip_accents = config.optional_boolean("strip_accents").value_or(n.lowercase);
  n.handle_chinese_chars = config.boolean("tokenize_chinese_chars", true);

  json map_doc = json::object();
  const fs::path map_file = dir / "special_tokens_map.json";
  if (fs::exists(map_file)) map_doc = read_json(map_file);
  const JsonView map(map_doc, map_file.string());
  auto name = [&](const std::string& key, const std::string& fallback) {
    if (auto v = special_token_name(config, key)) return *v;
    if (auto v = special_token_name(map, key)) return *v;
    return fallback;
  };
  spec->wordpiece.unk_token = name("unk_token", "[UNK]");
  spec->cls_token = name("cls_token", "[CLS]");
  spec->sep_token = name("sep_token", "[SEP]");
  spec->pad_token = name("pad_token", "[PAD]");
  const std::string mask_token = name("mask_token", "[MASK]");

  std::unordered_map<std::string, int64_t> lookup;
  for (const auto& [token, id] : spec->vocab) lookup[token] = id;
  int64_t next_id = static_cast<int64_t>(spec->vocab.size());

  if (const json* decoder = config.get("added_tokens_decoder")) {
    // transformers >= 4.34 records every added token with its flags.
    if (!decoder->is_object()) config.fail("added_tokens_decoder", "an object id -> token");
    const JsonView d = config.child("added_tokens_decoder");
    for (auto it = decoder->begin(); it != decoder->end(); ++it) {
      const JsonView t = d.child(it.key());
      AddedToken token;
      token.content = t.string("content", "");
      if (token.content.empty()) t.fail("content", "a non-empty string");
      token.special = t.boolean("special", false);
      token.single_word = t.boolean("single_word", false);
      token.lstrip = t.boolean("lstrip", false);
      token.rstrip = t.boolean("rstrip", false);
      token.normalized = t.boolean("normalized", !token.special);
      int64_t id = 0;
      try {
        id = std::stoll(it.key());
      } catch (const std::exception&) {
        config.fail("added_tokens_decoder", "integer keys");
      }
      token.id = vocab_id_or(lookup, token.content, id);
      spec->added_tokens.push_back(std::move(token));
    }
    return;
  }
  for (const std::string& content :
       {spec->pad_token, spec->wordpiece.unk_token, spec->cls_token, spec->sep_token, mask_token}) {
    AddedToken token;
    token.content = content;
    token.special = true;
    token.normalized = false;
    token.id = vocab_id_or(lookup, content, -1);
    if (token.id < 0) {
      token.id = next_id++;
      lookup[content] = token.id;
    }
    spec->added_tokens.push_back(std::move(token));
  }
}

}  // namespace

TokenizerSpec read_tokenizer_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    const bool exists = fs::exists(dir, ec);
    throw Error(dir.string() + (exists ? ": is not a directory" : ": directory does not exist") +
                " (expected a tokenizer folder with tokenizer.json or vocab.txt)");
  }
  const fs::path tokenizer_json = dir / "tokenizer.json";
  const fs::path vocab_txt = dir / "vocab.txt";
  const fs::path config_file = dir / "tokenizer_config.json";

  std::optional<json> config_doc;
  if (fs::exists(config_file, ec)) config_doc = read_json(config_file);
  const json empty = json::object();
  const JsonView config(config_doc ? *config_doc : empty, config_file.string());

  TokenizerSpec spec;
  if (fs::exists(tokenizer_json, ec)) {
    read_tokenizer_json(tokenizer_json, &spec);
    // transformers lets tokenizer_config.json name the pad token; the post-processor wins for
    // [CLS]/[SEP] unless it is absent.
    if (auto pad = special_token_name(config, "pad_token")) {
      spec.pad_token = *pad;
      spec.pad_id.reset();
    }
    if (auto cls = special_token_name(config, "cls_token")) spec.cls_token = *cls;
    if (auto sep = special_token_name(config, "sep_token")) spec.sep_token = *sep;
  } else if (fs::exists(vocab_txt, ec)) {
    read_vocab_txt(vocab_txt, &spec);
    spec.wordpiece = WordPieceOptions{};
    apply_vocab_txt_config(dir, config_doc ? &*config_doc : nullptr, &spec);
  } else {
    throw Error(dir.string() + ": no tokenizer.json or vocab.txt in this directory (expected a " +
                "Hugging Face BERT tokenizer)");
  }
  spec.model_max_length = sane_model_max_length(config);
  return spec;
}

}  // namespace mtst::text
