// Tests for mtst::Tokenizer against Hugging Face goldens (tokenizer.json and vocab.txt loads),
// plus truncation, invalid UTF-8, edge inputs, load errors and the normalizer's corner cases.
// Goldens come from tests/fixtures/tokenizer_goldens.jsonl (HF AutoTokenizer, all-MiniLM-L6-v2).
#include "mtst/text/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "mtst/error.h"
#include "text/normalizer.h"
#include "text/pre_tokenizer.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = MTST_FIXTURES_DIR;

struct Golden {
  std::string text;
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;  // empty for the max_length lines
  size_t max_length = 0;
};

const std::vector<Golden>& goldens() {
  static const std::vector<Golden> all = [] {
    std::vector<Golden> out;
    std::ifstream in(kFixtures / "tokenizer_goldens.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      Golden g;
      g.text = j.at("text").get<std::string>();
      g.ids = j.at("ids").get<std::vector<int64_t>>();
      if (j.contains("tokens")) g.tokens = j.at("tokens").get<std::vector<std::string>>();
      if (j.contains("max_length")) g.max_length = j.at("max_length").get<size_t>();
      out.push_back(std::move(g));
    }
    return out;
  }();
  return all;
}

std::string hex(const std::string& bytes) {
  std::ostringstream s;
  for (unsigned char c : bytes) s << std::hex << static_cast<int>(c) << ' ';
  return s.str();
}

std::string join(const std::vector<int64_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? " " : "") << ids[i];
  return s.str();
}

// Encodes every golden; reports the first few mismatches and returns the mismatch count.
size_t count_golden_mismatches(const Tokenizer& tok) {
  size_t mismatches = 0;
  for (const Golden& g : goldens()) {
    const std::vector<int64_t> ids = tok.encode(g.text, g.max_length);
    if (ids == g.ids) continue;
    if (++mismatches <= 5) {
      ADD_FAILURE() << "text: " << nlohmann::json(g.text).dump() << " max_length " << g.max_length
                    << "\n  expected: " << join(g.ids) << "\n  got:      " << join(ids);
    }
  }
  return mismatches;
}

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("mtst_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

const Tokenizer& json_tokenizer() {
  static const Tokenizer tok = Tokenizer::from_dir(kFixtures / "tokenizer");
  return tok;
}

TEST(TokenizerGoldens, FileHasAllLines) {
  ASSERT_EQ(goldens().size(), 3094u);
  size_t truncated = 0;
  for (const Golden& g : goldens()) truncated += g.max_length != 0;
  EXPECT_EQ(truncated, 15u);
}

TEST(TokenizerGoldens, TokenizerJsonMatchesHuggingFace) {
  EXPECT_EQ(count_golden_mismatches(json_tokenizer()), 0u);
}

TEST(TokenizerGoldens, TokenStringsMatchHuggingFace) {
  const Tokenizer& tok = json_tokenizer();
  size_t mismatches = 0;
  for (const Golden& g : goldens()) {
    if (g.tokens.size() < 2) continue;
    const std::vector<std::string> expected(g.tokens.begin() + 1, g.tokens.end() - 1);
    if (tok.tokenize(g.text) != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "text: " << nlohmann::json(g.text).dump();
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(TokenizerGoldens, VocabTxtMatchesHuggingFace) {
  TempDir dir;
  const fs::path src = kFixtures / "tiny-bert-st-v2format";
  fs::copy_file(src / "vocab.txt", dir.path() / "vocab.txt");
  fs::copy_file(src / "tokenizer_config.json", dir.path() / "tokenizer_config.json");
  const Tokenizer tok = Tokenizer::from_dir(dir.path());
  EXPECT_EQ(count_golden_mismatches(tok), 0u);
  EXPECT_EQ(tok.vocab_size(), 30522u);
  EXPECT_EQ(tok.model_max_length(), 512u);
}

TEST(TokenizerGoldens, OriginalTokenizerJsonMatchesHuggingFace) {
  // The all-MiniLM-L6-v2 tokenizer.json has truncation/padding 128 set; encode ignores them.
  const Tokenizer tok = Tokenizer::from_dir(kFixtures / "tiny-bert-st-v2format");
  EXPECT_EQ(count_golden_mismatches(tok), 0u);
}

TEST(Tokenizer, SpecialIdsAndSizes) {
  const Tokenizer& tok = json_tokenizer();
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 100);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.vocab_size(), 30522u);
  EXPECT_EQ(tok.model_max_length(), 512u);
  EXPECT_EQ(tok.id_to_token(103), "[MASK]");
  EXPECT_EQ(tok.token_to_id("hello"), 7592);
  EXPECT_FALSE(tok.token_to_id("no-such-token").has_value());
}

TEST(Tokenizer, Truncation) {
  const Tokenizer& tok = json_tokenizer();
  const std::string text = "Hello, World! This sentence has quite a few tokens in it.";
  const std::vector<int64_t> full = tok.encode(text);
  ASSERT_GT(full.size(), 8u);

  const std::vector<int64_t> eight = tok.encode(text, 8);
  ASSERT_EQ(eight.size(), 8u);
  EXPECT_EQ(std::vector<int64_t>(eight.begin(), eight.end() - 1),
            std::vector<int64_t>(full.begin(), full.begin() + 7));
  EXPECT_EQ(eight.back(), tok.sep_id());

  EXPECT_EQ(tok.encode(text, full.size()), full);
  EXPECT_EQ(tok.encode(text, full.size() + 100), full);
  EXPECT_EQ(tok.encode(text, 0), full);
  EXPECT_EQ(tok.encode(text, 3), (std::vector<int64_t>{101, full[1], 102}));
  // Below the two special tokens: max_length is a hard cap.
  EXPECT_EQ(tok.encode(text, 2), (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(tok.encode(text, 1), (std::vector<int64_t>{101}));
  EXPECT_EQ(tok.encode("", 1), (std::vector<int64_t>{101}));
  EXPECT_EQ(tok.encode("", 2), (std::vector<int64_t>{101, 102}));

  size_t checked = 0;
  for (const Golden& g : goldens()) {
    if (g.max_length == 0) continue;
    EXPECT_EQ(tok.encode(g.text, g.max_length), g.ids) << g.text;
    EXPECT_LE(g.ids.size(), g.max_length);
    ++checked;
  }
  EXPECT_EQ(checked, 15u);
}

TEST(Tokenizer, InvalidUtf8IsDroppedLikeReplacementChar) {
  const Tokenizer& tok = json_tokenizer();
  const std::vector<int64_t> abcd = tok.encode("abcd");
  const std::string invalid[] = {
      "ab\xFF"
      "cd",  // byte never valid in UTF-8
      "ab\x80"
      "cd",  // lone continuation byte
      "ab\xE2\x82"
      "cd",  // truncated 3-byte sequence
      "ab\xC0\x80"
      "cd",  // overlong encoding of NUL
      "ab\xED\xA0\x80"
      "cd",  // UTF-16 surrogate encoded in UTF-8
      "ab\xF4\x90\x80\x80"
      "cd",  // above U+10FFFF
      "ab\xEF\xBF\xBD"
      "cd",  // U+FFFD itself, which HF's clean_text removes
  };
  for (const std::string& text : invalid) {
    EXPECT_EQ(tok.encode(text), abcd) << "input bytes: " << hex(text);
  }
  // Truncated sequence at the very end, and input that is nothing but invalid bytes.
  EXPECT_EQ(tok.encode("abcd\xE2\x82"), abcd);
  EXPECT_EQ(tok.encode("\xF0"), (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(tok.encode("\xFF\xFE\xFD"), (std::vector<int64_t>{101, 102}));
  // A removed byte does not separate words but does block a special-token match, as U+FFFD
  // would in HF (special tokens are found before normalization).
  EXPECT_EQ(tok.encode("hello \xFFworld"), tok.encode("hello world"));
  EXPECT_EQ(tok.encode("[CL\xFFS]"), tok.encode("[CL\xEF\xBF\xBDS]"));
  EXPECT_EQ(tok.encode("[CL\xFFS]"), tok.encode("[cls]"));
}

TEST(Tokenizer, EdgeInputs) {
  const Tokenizer& tok = json_tokenizer();
  const std::vector<int64_t> empty = {101, 102};
  EXPECT_EQ(tok.encode(""), empty);
  EXPECT_EQ(tok.encode(" "), empty);
  EXPECT_EQ(tok.encode(" \t\r\n\v\f\xC2\xA0\xE3\x80\x80"), empty);
  EXPECT_EQ(tok.encode(std::string("\0", 1)), empty);
  EXPECT_EQ(tok.encode(std::string(101, 'a')), (std::vector<int64_t>{101, 100, 102}));
  EXPECT_EQ(tok.encode(std::string(100, 'a')).size(),
            2u + tok.tokenize(std::string(100, 'a')).size());
  EXPECT_NE(tok.encode(std::string(100, 'a'))[1], 100);
  // 101 characters but 202 bytes: the limit counts code points.
  std::string accented;
  for (int i = 0; i < 101; ++i) accented += "\xC3\xA9";  // U+00E9
  EXPECT_EQ(tok.encode(accented), (std::vector<int64_t>{101, 100, 102}));
  // Special-token text is matched exactly (case-sensitive) and splits words.
  EXPECT_EQ(tok.tokenize("a[MASK]b"), (std::vector<std::string>{"a", "[MASK]", "b"}));
  EXPECT_EQ(tok.tokenize(" [SEP] "), (std::vector<std::string>{"[SEP]"}));
  EXPECT_EQ(tok.tokenize("[Sep]"), (std::vector<std::string>{"[", "sep", "]"}));
}

TEST(Tokenizer, LoadErrorsNameThePath) {
  auto expect_error = [](const fs::path& dir, const std::string& needle) {
    try {
      Tokenizer::from_dir(dir);
      ADD_FAILURE() << "no error for " << dir;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("/nonexistent/mtst/tokenizer", "/nonexistent/mtst/tokenizer");

  TempDir empty;
  expect_error(empty.path(), empty.path().string());

  TempDir malformed;
  malformed.write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": ");
  expect_error(malformed.path(), (malformed.path() / "tokenizer.json").string());

  TempDir wrong_type;
  wrong_type.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}}})");
  expect_error(wrong_type.path(), "model.type");

  TempDir no_unk;
  no_unk.write("tokenizer.json",
               R"({"normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"},
                   "post_processor": null,
                   "model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  expect_error(no_unk.path(), "[UNK]");

  // Found by fuzz/tokenizer_json_fuzz.cpp: a template piece without "id", or not an object,
  // reached nlohmann's const operator[] with a missing key (undefined behaviour).
  for (const char* piece : {R"({"id[": "[CLS]"})", R"("[CLS]")", R"([1, 2])"}) {
    TempDir bad_template;
    bad_template.write(
        "tokenizer.json",
        std::string(R"({"normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"},
                        "post_processor": {"type": "TemplateProcessing", "single": [
                          {"SpecialToken": )") +
            piece + R"(}, {"Sequence": {"id": "A"}}, {"SpecialToken": {"id": "[SEP]"}}],
                          "special_tokens": {"[CLS]": {"ids": [2]}, "[SEP]": {"ids": [3]}}},
                        "model": {"type": "WordPiece", "unk_token": "[UNK]",
                                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}}})");
    expect_error(bad_template.path(), "post_processor.single");
  }

  TempDir bad_config;  // vocab.txt is fine, tokenizer_config.json is not JSON
  bad_config.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n");
  bad_config.write("tokenizer_config.json", "not json");
  expect_error(bad_config.path(), (bad_config.path() / "tokenizer_config.json").string());
}

TEST(Tokenizer, MinimalVocabTxtDirectory) {
  TempDir dir;
  dir.write("vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\n##s\r\n,\r\n");
  const Tokenizer tok = Tokenizer::from_dir(dir.path());
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.sep_id(), 3);
  EXPECT_EQ(tok.vocab_size(), 8u);
  EXPECT_EQ(tok.model_max_length(), 0u);
  EXPECT_EQ(tok.encode("HELLOS, héllo [MASK] x"), (std::vector<int64_t>{2, 5, 6, 7, 5, 4, 1, 3}));
}

TEST(Tokenizer, EncodesQuickly) {
  const Tokenizer& tok = json_tokenizer();
  std::vector<std::string> texts;
  for (const Golden& g : goldens()) texts.push_back(g.text);
  const auto start = std::chrono::steady_clock::now();
  size_t total = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& t : texts) total += tok.encode(t).size();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(total, 0u);
  // ~9k sentences; generous bound so that a loaded CI machine does not flake.
  EXPECT_LT(seconds, 2.0);
  std::cout << "[ timing ] " << texts.size() * 3 << " encodes in " << seconds * 1e3 << " ms\n";
}

TEST(BertNormalizer, FollowsHuggingFaceOrder) {
  text::NormalizerOptions options;  // clean, chinese, strip accents, lowercase
  const text::BertNormalizer bert(options);
  // NFD splits U+0130 before lowercasing, so the dot is stripped.
  EXPECT_EQ(bert.normalize(U"\u0130stanbul"), U"istanbul");
  // \v, \f and U+0085 are controls first, so they vanish instead of becoming spaces.
  EXPECT_EQ(bert.normalize(U"a\vb\fc\u0085d\te"), U"abcd e");
  EXPECT_EQ(bert.normalize(U"x\u4E2Dy"), U"x \u4E2D y");
  // Compatibility decompositions are not applied.
  EXPECT_EQ(bert.normalize(U"\uFB01\u01C5"), U"\uFB01\u01C6");
  // Private use and format characters are removed.
  EXPECT_EQ(bert.normalize(U"a\uE000b\u200Bc\uFEFF"), U"abc");

  options.strip_accents = false;  // lowercase only: Rust's to_lowercase expands U+0130
  const text::BertNormalizer lower_only(options);
  EXPECT_EQ(lower_only.normalize(U"\u0130I\u0130"), U"i\u0307ii\u0307");
  EXPECT_EQ(lower_only.normalize(U"\u00C9"), U"\u00E9");

  options.lowercase = false;
  options.strip_accents = true;  // canonical reordering happens before Mn removal
  const text::BertNormalizer strip_only(options);
  EXPECT_EQ(strip_only.normalize(U"\u00C9cole"), U"Ecole");
}

TEST(BertPreTokenizer, SplitsWhitespaceAndPunctuation) {
  const std::u32string text = U"don't  \u20AC5 \u2014x";
  std::vector<text::WordSpan> words;
  text::bert_pre_tokenize(text, &words);
  std::vector<std::u32string> got;
  for (const auto& w : words) got.push_back(text.substr(w.begin, w.end - w.begin));
  EXPECT_EQ(got, (std::vector<std::u32string>{U"don", U"'", U"t", U"\u20AC5", U"\u2014", U"x"}));
}

}  // namespace
}  // namespace mtst

namespace mtst {
namespace {

TEST(Tokenizer, AddedTokenFlags) {
  TempDir dir;
  dir.write("tokenizer.json", R"({
    "added_tokens": [
      {"id": 0, "content": "[UNK]", "normalized": false, "special": true},
      {"id": 9, "content": "<x>", "lstrip": true, "rstrip": true, "normalized": false,
       "special": true},
      {"id": 10, "content": "Foo", "normalized": true, "special": false},
      {"id": 11, "content": "ab", "single_word": true, "normalized": false, "special": false}],
    "normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": null},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    "model": {"type": "WordPiece", "unk_token": "[UNK]",
              "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "a": 4, "##b": 5,
                        "c": 6, "f": 7, "##oo": 8}}})");
  const Tokenizer tok = Tokenizer::from_dir(dir.path());
  EXPECT_EQ(tok.vocab_size(), 12u);
  EXPECT_EQ(tok.pad_id(), 3);
  // lstrip/rstrip swallow the spaces; "FOO" normalizes to "foo", the normalized added token.
  EXPECT_EQ(tok.encode("c <x> FOO c"), (std::vector<int64_t>{1, 6, 9, 10, 6, 2}));
  // single_word: "ab" alone is the added token, inside "cab"/"abc" it is not.
  EXPECT_EQ(tok.encode("ab c"), (std::vector<int64_t>{1, 11, 6, 2}));
  EXPECT_EQ(tok.encode("abc"), (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(tok.encode("ab,"), (std::vector<int64_t>{1, 11, 0, 2}));
  EXPECT_EQ(tok.id_to_token(10), "Foo");
}

}  // namespace
}  // namespace mtst
