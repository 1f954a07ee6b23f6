// `mtst encode` as a stream: peak memory measured (wait4) on a 54 MB line and on 200k lines
// against a one-line run; --shard K/N outputs concatenated in order equal the unsharded output
// (text and .jsonl inputs, CRLF, empty lines, no final newline, more shards than lines); a
// "\r" split from its "\n" by the read buffer; bad shards and a bad record past the first
// chunk give one message and leave no file.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace mtst {
namespace {

using test::fixtures;
using test::run_mtst;
using test::TempDir;

std::string q(const std::filesystem::path& p) { return test::quoted(p); }

const std::string& model() {
  static const std::string dir = q(fixtures() / "tiny-bert-st");
  return dir;
}

// Rows of a float32 .npy file written by mtst (2-D, C order), checked against its header.
std::vector<std::vector<float>> read_npy_rows(const std::filesystem::path& path) {
  const std::string bytes = test::read_file(path);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header =
      10 + static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]);
  const std::string dict = bytes.substr(10, header - 10);
  const size_t shape = dict.find("'shape': (");
  EXPECT_NE(shape, std::string::npos) << dict;
  size_t rows = 0, dim = 0;
  std::sscanf(dict.c_str() + shape, "'shape': (%zu, %zu)", &rows, &dim);
  EXPECT_EQ(bytes.size(), header + rows * dim * 4) << dict;
  std::vector<std::vector<float>> out(rows, std::vector<float>(dim));
  for (size_t r = 0; r < rows; ++r)
    std::memcpy(out[r].data(), &bytes[header + r * dim * 4], dim * 4);
  return out;
}

std::vector<std::vector<float>> parse_jsonl_rows(const std::string& text) {
  std::vector<std::vector<float>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line).at("embedding").get<std::vector<float>>());
  }
  return out;
}

void expect_rows_near(const std::vector<std::vector<float>>& got,
                      const std::vector<std::vector<float>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t r = 0; r < got.size(); ++r) {
    ASSERT_EQ(got[r].size(), want[r].size()) << what;
    for (size_t k = 0; k < got[r].size(); ++k) {
      ASSERT_NEAR(got[r][k], want[r][k], 1e-6) << what << " row " << r << " col " << k;
    }
  }
}

std::string words(size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) text += (i ? " " : "") + std::string(i % 3 ? "fox" : "dog");
  return text;
}

TEST(EncodeStream, MemoryDoesNotGrowWithTheInput) {
  TempDir tmp;
  test::write_file(tmp / "one.txt", "A short one.\n");
  std::string line;
  line.reserve(54'000'100);
  while (line.size() < 54'000'000) line += "The quick brown fox jumps over the lazy dog, again. ";
  test::write_file(tmp / "line.txt", line + "\nA short one.\n");
  line = std::string();
  std::string many;
  for (int i = 0; i < 200'000; ++i) many += "Sentence number " + std::to_string(i) + ".\n";
  test::write_file(tmp / "many.txt", many);
  auto encode = [&](const std::string& name) {
    const auto r = run_mtst("encode --model " + model() + " --input " + q(tmp / name) +
                            " --output " + q(tmp / (name + ".npy")));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::cout << "[peak-rss] " << name << ": " << r.peak_rss_kb / 1024 << " MB\n";
    return r.peak_rss_kb;
  };
  const long base = encode("one.txt");
  // A whole-input reader holds 54 MB of text and several copies of it as code points and
  // token ids; 200k lines, their ids and a 25 MB result. Streaming holds a chunk.
  EXPECT_LT(encode("line.txt") - base, 32 * 1024);
  EXPECT_LT(encode("many.txt") - base, 32 * 1024);
  EXPECT_EQ(read_npy_rows(tmp / "many.txt.npy").size(), 200'000u);
  // The huge line's row is the row of its first tokens: the prefix alone, encoded.
  const auto rows = read_npy_rows(tmp / "line.txt.npy");
  ASSERT_EQ(rows.size(), 2u);
  const auto prefix = run_mtst("encode --model " + model(),
                               "The quick brown fox jumps over the lazy dog, again. "
                               "The quick brown fox jumps over the lazy dog, again. "
                               "The quick brown fox jumps over the lazy dog, again. "
                               "The quick brown fox jumps over the lazy dog, again. "
                               "The quick brown fox jumps over the lazy dog, again. "
                               "The quick brown fox jumps over the lazy dog, again.\n");
  ASSERT_EQ(prefix.exit_code, 0) << prefix.err;
  EXPECT_NE(prefix.err.find("1 of 1 inputs were longer than 64 tokens"), std::string::npos);
  expect_rows_near({rows[0]}, parse_jsonl_rows(prefix.out), "54 MB line vs its prefix");
}

std::string mixed_lines() {
  std::string text;
  for (int i = 0; i < 57; ++i) {
    if (i % 11 == 5) {
      text += "\n";  // an empty line is an input too
    } else if (i % 7 == 3) {
      text += "Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 line " + std::to_string(i) + "\r\n";
    } else {
      text += words(1 + (i * 13) % 90) + " " + std::to_string(i) + "\n";
    }
  }
  return text + "last line without a newline";
}

// The rows of --shard 0/N ... N-1/N of FILE, in order (each mtst run costs a process start).
std::vector<std::vector<float>> sharded_rows(const TempDir& tmp, const std::string& file,
                                             int shards) {
  std::vector<std::vector<float>> rows;
  for (int k = 0; k < shards; ++k) {
    const auto out = tmp / ("s" + std::to_string(k) + ".npy");
    const auto r =
        run_mtst("encode --model " + model() + " --input " + q(tmp / file) + " --shard " +
                 std::to_string(k) + "/" + std::to_string(shards) + " --output " + q(out));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (auto& row : read_npy_rows(out)) rows.push_back(std::move(row));
  }
  return rows;
}

TEST(EncodeStream, ShardsConcatenateToTheWholeOutput) {
  TempDir tmp;
  test::write_file(tmp / "in.txt", mixed_lines());
  const auto whole = run_mtst("encode --model " + model() + " --input " + q(tmp / "in.txt"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto want = parse_jsonl_rows(whole.out);
  ASSERT_EQ(want.size(), 58u);
  for (int shards : {1, 2, 3, 7}) {
    expect_rows_near(sharded_rows(tmp, "in.txt", shards), want, std::to_string(shards));
  }
  // More shards than lines: some shards are empty ((0, D) files), none loses or repeats one.
  test::write_file(tmp / "three.txt", "first line\n\nthird, after an empty one\n");
  const auto three = run_mtst("encode --model " + model() + " --input " + q(tmp / "three.txt"));
  expect_rows_near(sharded_rows(tmp, "three.txt", 5), parse_jsonl_rows(three.out), "5 of 3");
}

TEST(EncodeStream, JsonlShardsSkipBlankLinesAndConcatenate) {
  TempDir tmp;
  std::string jsonl;
  for (int i = 0; i < 40; ++i) {
    jsonl += nlohmann::json{{"text", words(1 + i % 9) + "\nline " + std::to_string(i)}}.dump() +
             (i % 6 == 2 ? "\n\n   \n" : "\n");
  }
  test::write_file(tmp / "in.jsonl", jsonl);
  const auto whole = run_mtst("encode --model " + model() + " --input " + q(tmp / "in.jsonl"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto want = parse_jsonl_rows(whole.out);
  ASSERT_EQ(want.size(), 40u);
  std::vector<std::vector<float>> got;
  for (int k = 0; k < 3; ++k) {
    const auto out = tmp / ("s" + std::to_string(k) + ".jsonl");
    const auto r = run_mtst("encode --model " + model() + " --input " + q(tmp / "in.jsonl") +
                            " --shard " + std::to_string(k) + "/3 --output " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = parse_jsonl_rows(test::read_file(out));
    EXPECT_GT(rows.size(), 5u) << k;
    got.insert(got.end(), rows.begin(), rows.end());
  }
  expect_rows_near(got, want, "3 jsonl shards");
}

TEST(EncodeStream, CarriageReturnsAreDroppedAcrossReadBuffers) {
  // The reader's buffer is 64 KiB: the first line's "\r" is its last byte, "\n" the next's first.
  const std::string first = words(16384).substr(0, 65535);
  const auto crlf = run_mtst("encode --model " + model(), first + "\r\nnext\r\n\r\nend\r");
  const auto lf = run_mtst("encode --model " + model(), first + "\nnext\n\nend");
  ASSERT_EQ(crlf.exit_code, 0) << crlf.err;
  ASSERT_EQ(lf.exit_code, 0) << lf.err;
  EXPECT_EQ(parse_jsonl_rows(crlf.out).size(), 4u);
  EXPECT_EQ(crlf.out, lf.out);
  // A "\r" inside a line stays (BERT treats it as a space): "a\rb" is not "ab".
  const auto inner = run_mtst("encode --model " + model(), "a\rb\nab\n");
  const auto rows = parse_jsonl_rows(inner.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0], rows[1]);
}

TEST(EncodeStream, BadShardsAreRefusedBeforeWork) {
  TempDir tmp;
  test::write_file(tmp / "in.txt", "one\ntwo\n");
  const std::string base = "encode --model " + model() + " --output " + q(tmp / "o.npy");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --input " + q(tmp / "in.txt") + " --shard 3/3",
       "mtst: error: --shard 3/3: K must be in 0..2 (shards are numbered from 0)\n"},
      {" --input " + q(tmp / "in.txt") + " --shard 1/0",
       "mtst: error: --shard 1/0: K must be in 0..N-1 and N at least 1 (shards are numbered "
       "from 0)\n"},
      {" --input " + q(tmp / "in.txt") + " --shard half",
       "mtst: error: --shard half: expected K/N with 0 <= K < N, e.g. 0/4\n"},
      {" --shard 0/2",
       "mtst: error: --shard needs an --input file: standard input cannot be split\n"},
      {" --input /dev/null --shard 0/2",
       "mtst: error: --shard needs a regular --input file; /dev/null is a pipe or device\n"}};
  for (const auto& [args, message] : cases) {
    const auto r = run_mtst(base + args, "hi\n");
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err, message) << args;
    EXPECT_FALSE(std::filesystem::exists(tmp / "o.npy")) << args;
  }
}

TEST(EncodeStream, ABadRecordPastTheFirstChunkLeavesNoFile) {
  TempDir tmp;
  std::string jsonl;
  for (int i = 0; i < 9000; ++i) jsonl += "{\"text\": \"sentence " + std::to_string(i) + "\"}\n";
  test::write_file(tmp / "in.jsonl", jsonl + "{\"text\": 7}\n");
  const auto r = run_mtst("encode --model " + model() + " --input " + q(tmp / "in.jsonl") +
                          " --output " + q(tmp / "o.npy"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mtst: error: " + (tmp / "in.jsonl").string() +
                       ":9001: expected an object with a string field \"text\"\n");
  size_t entries = 0;  // the input alone: no output, no temporary file
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace mtst
