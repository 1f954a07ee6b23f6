// TokenStream and windowed Tokenizer::encode against the oracle: the whole text tokenized at
// once (Tokenizer::encode without a limit), then truncated by hand as HF does. Random texts
// built from fragments that sit on every boundary rule of src/text/safe_cut.h (spaces,
// punctuation, CJK, combining marks, invalid and split UTF-8, added tokens with lstrip /
// rstrip / single_word / normalized, tokens holding punctuation or a space), fed in random
// byte pieces with windows down to one code point, under four tokenizer configurations.
#include "mtst/text/token_stream.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;

std::vector<int64_t> oracle(const Tokenizer& tok, const std::string& text, size_t max_length,
                            bool* truncated) {
  std::vector<int64_t> ids = tok.encode(text);  // whole text, no limit: never windowed
  *truncated = max_length > 0 && ids.size() > max_length;
  if (max_length == 1) return {ids.front()};
  if (*truncated) {
    ids.resize(max_length - 1);
    ids.push_back(tok.sep_id());
  }
  return ids;
}

// The fixture tokenizer (all-MiniLM-L6-v2's) with extra added tokens and normalizer options.
Tokenizer variant(const test::TempDir& dir, const std::vector<nlohmann::json>& extra_tokens,
                  const nlohmann::json& normalizer) {
  nlohmann::json spec;
  std::ifstream(fixtures() / "tokenizer" / "tokenizer.json") >> spec;
  for (const auto& token : extra_tokens) spec["added_tokens"].push_back(token);
  for (const auto& [key, value] : normalizer.items()) spec["normalizer"][key] = value;
  test::write_file(dir / "tokenizer.json", spec.dump());
  return Tokenizer::from_dir(dir.path());
}

nlohmann::json added(int id, const std::string& content, bool normalized, bool lstrip = false,
                     bool rstrip = false, bool single_word = false) {
  return {{"id", id},
          {"content", content},
          {"normalized", normalized},
          {"lstrip", lstrip},
          {"rstrip", rstrip},
          {"single_word", single_word},
          {"special", !normalized}};
}

const std::vector<std::string>& fragments() {
  static const std::vector<std::string> all = {"hello",
                                               "World",
                                               "running",
                                               " ",
                                               "  ",
                                               "\t",
                                               "\n",
                                               "\r",
                                               ".",
                                               ",",
                                               "!?",
                                               "don't",
                                               "$5",
                                               "[CLS]",
                                               "[MASK]",
                                               "[CL",
                                               "S]",
                                               "[",
                                               "]",
                                               "\xe4\xb8\xad",
                                               "\xe6\x96\x87",  // CJK
                                               "\xc3\xa9",
                                               "e\xcc\x81",
                                               "\xcc\x81",
                                               "\xcc\xa3",
                                               "\xc3\x89",
                                               "\xc4\xb0",  // accents, U+0130
                                               "\xff",
                                               "\xe2\x82",
                                               "\xe2\x82\xac",
                                               "\x80",
                                               "\x01",
                                               "\xef\xbf\xbd",  // bad UTF-8
                                               "ab",
                                               "<x>",
                                               "Foo",
                                               "FOO",
                                               "a.b",
                                               "x y",
                                               "c",
                                               std::string(120, 'a'),
                                               "\xe2\x80\x94"};
  return all;
}

std::string random_text(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> length(0, 40);
  std::uniform_int_distribution<size_t> pick(0, fragments().size() - 1);
  std::string text;
  for (size_t n = length(rng); n > 0; --n) text += fragments()[pick(rng)];
  return text;
}

std::vector<int64_t> streamed(const Tokenizer& tok, const std::string& text, size_t max_length,
                              size_t window, std::mt19937& rng, bool* truncated) {
  TokenStream stream(tok, max_length, window);
  std::uniform_int_distribution<size_t> piece(1, 7);
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min(piece(rng), text.size() - at);
    if (!stream.feed(std::string_view(text).substr(at, n))) break;
    at += n;
  }
  return stream.finish(truncated);
}

void expect_streams_match_oracle(const Tokenizer& tok, uint32_t seed) {
  std::mt19937 rng(seed);
  size_t compared = 0;
  for (int t = 0; t < 250; ++t) {
    const std::string text = random_text(rng);
    for (size_t max_length : {0, 1, 2, 3, 6, 17, 4096}) {
      bool want_cut = false;
      const auto want = oracle(tok, text, max_length, &want_cut);
      for (size_t window : {1, 2, 3, 5, 8, 64}) {
        bool cut = !want_cut;
        ASSERT_EQ(streamed(tok, text, max_length, window, rng, &cut), want)
            << "text "
            << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << " max_length " << max_length << " window " << window;
        ASSERT_EQ(cut, want_cut);
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 250u * 7 * 6);
}

TEST(TokenStream, MatchesTheWholeTextOnThePlainTokenizer) {
  expect_streams_match_oracle(Tokenizer::from_dir(fixtures() / "tokenizer"), 1);
}

TEST(TokenStream, MatchesWithRawAddedTokensOfEveryFlag) {
  test::TempDir dir;
  const auto tok =
      variant(dir,
              {added(30522, "<x>", false, true, true), added(30523, "a.b", false),
               added(30524, "x y", false), added(30525, "ab", false, false, false, true),
               added(30526, "S][", false, false, false, true)},
              nlohmann::json::object());
  // Sanity: the tokens are live (the fragments hit them). HF tokenizers 0.23 gives the same
  // ids, "ab" (a special single_word token) included, which it leaves to WordPiece here.
  EXPECT_EQ(tok.encode("c <x> a.b x y ab"),
            (std::vector<int64_t>{101, 1039, 30522, 30523, 30524, 11113, 102}));
  expect_streams_match_oracle(tok, 2);
}

TEST(TokenStream, MatchesWithNormalizedAddedTokens) {
  test::TempDir dir;
  const auto tok =
      variant(dir, {added(30522, "Foo", true), added(30523, "e.", true)}, nlohmann::json::object());
  EXPECT_EQ(tok.encode("FOO"), (std::vector<int64_t>{101, 30522, 102}));
  expect_streams_match_oracle(tok, 3);
}

TEST(TokenStream, MatchesWhenANormalizedTokenHoldsASpace) {
  // No cut is safe then: the stream holds the text whole and must still agree.
  test::TempDir dir;
  const auto tok = variant(dir, {added(30522, "hello world", true)}, nlohmann::json::object());
  EXPECT_EQ(tok.encode("Hello World"), (std::vector<int64_t>{101, 30522, 102}));
  expect_streams_match_oracle(tok, 4);
}

TEST(TokenStream, MatchesWithTheNormalizerOff) {
  test::TempDir dir;
  const auto tok = variant(dir, {added(30522, "ab", false, false, false, true)},
                           {{"clean_text", false},
                            {"handle_chinese_chars", false},
                            {"strip_accents", false},
                            {"lowercase", false}});
  expect_streams_match_oracle(tok, 5);
}

TEST(TokenStream, LongTextsEncodeInWindowsWithTheSameIds) {
  const auto tok = Tokenizer::from_dir(fixtures() / "tokenizer");
  std::string book;
  for (int i = 0; book.size() < 3'000'000; ++i) {
    book += "Sentence " + std::to_string(i) + " says: caf\xc3\xa9, [MASK] and \xe4\xb8\xad! ";
  }
  // A stretch with no safe cut (one 1 MB word), then ordinary text.
  const std::string no_cut = std::string(1'000'000, 'x') + " then words after it.";
  for (const std::string* text : std::vector<const std::string*>{&book, &no_cut}) {
    for (size_t max_length : {2, 256, 512}) {
      bool want_cut = false, cut = false;
      const auto want = oracle(tok, *text, max_length, &want_cut);
      EXPECT_EQ(tok.encode(*text, max_length, &cut), want) << max_length;
      EXPECT_EQ(cut, want_cut);
      EXPECT_EQ(want_cut, text == &book || max_length < 9);  // the [UNK] + 6 ids fit in 9
    }
  }
  // Without a limit the whole text is tokenized: windows then change nothing either.
  std::mt19937 rng(6);
  bool cut = true;
  const std::string tail = book.substr(0, 200'000);
  EXPECT_EQ(streamed(tok, tail, 0, 300, rng, &cut), tok.encode(tail));
  EXPECT_FALSE(cut);
}

TEST(TokenStream, StopsAskingOnceTheLimitIsKnown) {
  const auto tok = Tokenizer::from_dir(fixtures() / "tokenizer");
  TokenStream stream(tok, 8, 16);
  size_t fed = 0;
  while (fed < 1000 && stream.feed("word ")) ++fed;
  EXPECT_LT(fed, 20u);  // 8 ids, windows of 16 code points: a handful of pieces
  bool cut = false;
  EXPECT_EQ(stream.finish(&cut).size(), 8u);
  EXPECT_TRUE(cut);
}

}  // namespace
}  // namespace mtst
