// Tests for the CSV reader (quoting, line endings, BOM, malformed input) and for task data
// loading (label names vs integers, bad rows, strict mode, JSONL), including the bundled
// sentiment and sentence_type files. Expected real-data counts were checked independently
// with Python's csv module; they do not test tokenization or training.
#include "mtst/io/csv.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mtst/error.h"
#include "mtst/train/task_data.h"
#include "test_util.h"

namespace mtst {
namespace {

using Rows = std::vector<std::vector<std::string>>;
using test::TempDir;

const std::string kData = MTST_FIXTURES_DIR "/../../data";

Rows parse(const std::string& text) {
  std::istringstream in(text);
  return read_csv(in, "t.csv");
}

// The message of the mtst::Error that parsing TEXT throws ("" if none).
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const TaskDataSpec& spec) {
  try {
    load_task_data(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::map<int64_t, size_t> label_counts(const TaskData& data) {
  std::map<int64_t, size_t> counts;
  for (const auto& e : data.examples) ++counts[e.label];
  return counts;
}

TEST(Csv, SimpleRowsAndEmptyFields) {
  EXPECT_EQ(parse("a,b,c\n1,,3\n,,\n"), (Rows{{"a", "b", "c"}, {"1", "", "3"}, {"", "", ""}}));
  EXPECT_EQ(parse(""), Rows{});
  EXPECT_EQ(parse("x\n\n\ny\n"), (Rows{{"x"}, {"y"}}));  // blank lines are skipped
}

TEST(Csv, QuotedFields) {
  EXPECT_EQ(parse("\"a,b\",\"say \"\"hi\"\"\",\"\"\n"), (Rows{{"a,b", "say \"hi\"", ""}}));
  EXPECT_EQ(parse("\"\"\"\"\n"), (Rows{{"\""}}));
  EXPECT_EQ(parse("ab\"c,d\n"), (Rows{{"ab\"c", "d"}}));  // bare quote mid-field kept
}

TEST(Csv, QuotedNewlinesAndLineNumbers) {
  std::istringstream in("h1,h2\r\n1,\"two\r\nlines\"\r\n2,\"a\nb\nc\"\r\n3,x\r\n");
  std::vector<size_t> lines;
  Rows rows;
  for_each_csv_record(in, "t.csv", [&](const std::vector<std::string>& f, size_t line) {
    rows.push_back(f);
    lines.push_back(line);
  });
  EXPECT_EQ(rows, (Rows{{"h1", "h2"}, {"1", "two\r\nlines"}, {"2", "a\nb\nc"}, {"3", "x"}}));
  EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 4, 7}));
}

TEST(Csv, LineEndings) {
  const Rows want{{"a", "b"}, {"c", "d"}};
  EXPECT_EQ(parse("a,b\r\nc,d\r\n"), want);
  EXPECT_EQ(parse("a,b\nc,d\n"), want);
  EXPECT_EQ(parse("a,b\rc,d\r"), want);
  EXPECT_EQ(parse("a,b\r\nc,d"), want);  // no final line break
  EXPECT_EQ(parse("a,b\nc,\"d\""), want);
  EXPECT_EQ(parse("a,b\nc,d,"), (Rows{{"a", "b"}, {"c", "d", ""}}));
}

TEST(Csv, ByteOrderMark) {
  EXPECT_EQ(parse("\xEF\xBB\xBFtext,label\nx,1\n"), (Rows{{"text", "label"}, {"x", "1"}}));
  EXPECT_EQ(parse("\xEF\xBB\xBF\"q\"\n"), (Rows{{"q"}}));
  EXPECT_EQ(parse("\xEF\xBB\xBF"), Rows{});
  // Starts like a BOM but is a character (U+FF61): kept as data.
  EXPECT_EQ(parse("\xEF\xBD\xA1,x\n"), (Rows{{"\xEF\xBD\xA1", "x"}}));
  EXPECT_EQ(parse("\xEF"), (Rows{{"\xEF"}}));
  // A BOM later in the file is data.
  EXPECT_EQ(parse("a\n\xEF\xBB\xBF"
                  "b\n"),
            (Rows{{"a"},
                  {"\xEF\xBB\xBF"
                   "b"}}));
}

TEST(Csv, UnterminatedQuoteIsAnError) {
  const std::string msg = parse_error("a,b\n1,\"open\nstill open\n");
  EXPECT_NE(msg.find("t.csv:4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unterminated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opened at line 2"), std::string::npos) << msg;
  EXPECT_NE(parse_error("\""), "");
}

TEST(Csv, TextAfterClosingQuoteIsAnError) {
  const std::string msg = parse_error("a,b\r\n\"x\"y,z\r\n");
  EXPECT_NE(msg.find("t.csv:2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after a closing quote"), std::string::npos) << msg;
  EXPECT_NE(parse_error("\"a\" ,b\n"), "");
}

TEST(Csv, RandomInputNeverCrashes) {
  const std::string alphabet = "ab,\"\r\n \xEF\xBB\xBF";
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text(rng() % 24, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    try {
      parse(text);
    } catch (const Error&) {
    }
  }
}

class TaskDataTest : public ::testing::Test {
 protected:
  TaskDataSpec spec(const std::string& name, const std::string& contents) {
    test::write_file(tmp_ / name, contents);
    TaskDataSpec s;
    s.path = (tmp_ / name).string();
    s.labels = {"negative", "neutral", "positive"};
    return s;
  }
  TempDir tmp_;
};

TEST_F(TaskDataTest, NamesAndIntegerLabels) {
  const auto data = load_task_data(
      spec("a.csv", "id,text,label\n1,good,positive\n2,meh, neutral \n3,bad,0\n4,\"x, y\",2\n"));
  ASSERT_EQ(data.examples.size(), 4u);
  EXPECT_EQ(data.skipped, 0u);
  EXPECT_EQ(data.examples[0].text, "good");
  EXPECT_EQ(data.examples[0].label, 2);
  EXPECT_EQ(data.examples[1].label, 1);
  EXPECT_EQ(data.examples[2].label, 0);
  EXPECT_EQ(data.examples[3].text, "x, y");
  EXPECT_EQ(data.examples[3].label, 2);
}

TEST_F(TaskDataTest, BadRowsAreSkippedAndCounted) {
  const auto data = load_task_data(spec("b.csv",
                                        "text,label\n"
                                        "ok,positive\n"
                                        "x,Positive\n"  // case-sensitive
                                        "y,3\n"         // out of range
                                        "z,-1\n"
                                        ",neutral\n"  // empty text
                                        "\"  \",neutral\n"
                                        "w,\n"  // missing label
                                        "too,many,fields\n"
                                        "fine,1\n"));
  ASSERT_EQ(data.examples.size(), 2u);
  EXPECT_EQ(data.skipped, 7u);
  ASSERT_EQ(data.skip_reasons.size(), kMaxSkipReasons);
  EXPECT_NE(data.skip_reasons[0].find("b.csv:3: unknown label \"Positive\""), std::string::npos)
      << data.skip_reasons[0];
  EXPECT_NE(data.skip_reasons[3].find("b.csv:6: empty text"), std::string::npos)
      << data.skip_reasons[3];
}

TEST_F(TaskDataTest, StrictModeNamesTheLine) {
  auto s = spec("c.csv", "text,label\r\n\"multi\r\nline\",positive\r\nbad,unknown\r\n");
  s.skip_bad_rows = false;
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("c.csv:4: unknown label \"unknown\""), std::string::npos) << msg;

  auto cols = spec("d.csv", "text,label\nok,0\na,b,c\n");
  cols.skip_bad_rows = false;
  EXPECT_NE(load_error(cols).find("d.csv:3: expected 2 fields, found 3"), std::string::npos);
}

TEST_F(TaskDataTest, MissingColumnListsTheHeader) {
  auto s = spec("e.csv", "id,sentence,label\n1,x,0\n");
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("no column \"text\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("(columns: id, sentence, label)"), std::string::npos) << msg;
  s.text_column = "sentence";
  EXPECT_EQ(load_task_data(s).examples.size(), 1u);
}

TEST_F(TaskDataTest, FileErrors) {
  TaskDataSpec missing;
  missing.path = (tmp_ / "nope.csv").string();
  missing.labels = {"a"};
  EXPECT_NE(load_error(missing).find(missing.path), std::string::npos);
  EXPECT_NE(load_error(spec("empty.csv", "")).find("empty file"), std::string::npos);
  EXPECT_NE(load_error(spec("f.txt", "text,label\n")).find(".csv or .jsonl"), std::string::npos);
  EXPECT_NE(load_error(spec("g.csv", "text,label\n\"x,0\n")).find("unterminated"),
            std::string::npos);
  auto no_labels = spec("h.csv", "text,label\n");
  no_labels.labels.clear();
  EXPECT_NE(load_error(no_labels), "");
}

TEST_F(TaskDataTest, Jsonl) {
  auto s = spec("a.jsonl",
                "{\"text\": \"great\\nday\", \"label\": \"positive\"}\r\n"
                "\n"
                "{\"text\": \"fine\", \"label\": 1}\n"
                "{\"text\": \"bad\", \"label\": 7}\n"
                "{\"text\": \"odd\", \"label\": 1.5}\n"
                "{\"txt\": \"x\", \"label\": 0}\n"
                "not json\n"
                "{\"text\": \"sad\", \"label\": \" negative\"}");
  const auto data = load_task_data(s);
  ASSERT_EQ(data.examples.size(), 3u);
  EXPECT_EQ(data.examples[0].text, "great\nday");
  EXPECT_EQ(data.examples[0].label, 2);
  EXPECT_EQ(data.examples[1].label, 1);
  EXPECT_EQ(data.examples[2].label, 0);
  EXPECT_EQ(data.skipped, 4u);
  EXPECT_NE(data.skip_reasons[0].find("a.jsonl:4: unknown label"), std::string::npos)
      << data.skip_reasons[0];
  EXPECT_NE(data.skip_reasons[3].find("a.jsonl:7: not a JSON object"), std::string::npos);
  s.skip_bad_rows = false;
  EXPECT_NE(load_error(s).find("a.jsonl:4:"), std::string::npos);
}

TaskDataSpec sentiment(const std::string& split) {
  TaskDataSpec s;
  s.path = kData + "/sentiment/" + split + ".csv";
  s.labels = {"negative", "neutral", "positive"};
  return s;
}

TEST(RealData, SentimentTrain) {
  const auto data = load_task_data(sentiment("train"));
  EXPECT_EQ(data.skipped, 0u);
  ASSERT_EQ(data.examples.size(), 31232u);
  EXPECT_EQ(label_counts(data), (std::map<int64_t, size_t>{{0, 9105}, {1, 11649}, {2, 10478}}));
  EXPECT_EQ(data.examples[0].text, "Cooking microwave pizzas, yummy");
  // Record 405 has a quoted text wrapped with CRLF.
  EXPECT_EQ(data.examples[404].text.rfind(
                "To-Dos should be named to QUEST, don't feel like im playing a game with a \r\n"
                "boring to do list",
                0),
            0u);
}

TEST(RealData, SentimentTestSkipsTheEmptyText) {
  auto spec = sentiment("test");
  const auto data = load_task_data(spec);
  EXPECT_EQ(data.examples.size(), 5205u);
  EXPECT_EQ(data.skipped, 1u);
  ASSERT_EQ(data.skip_reasons.size(), 1u);
  EXPECT_EQ(data.skip_reasons[0], spec.path + ":3787: empty text");
  EXPECT_EQ(label_counts(data), (std::map<int64_t, size_t>{{0, 1546}, {1, 1929}, {2, 1730}}));
  spec.skip_bad_rows = false;
  EXPECT_EQ(load_error(spec), spec.path + ":3787: empty text");
}

TEST(RealData, SentimentValidation) {
  const auto data = load_task_data(sentiment("validation"));
  EXPECT_EQ(data.skipped, 0u);
  EXPECT_EQ(label_counts(data), (std::map<int64_t, size_t>{{0, 1517}, {1, 1928}, {2, 1760}}));
}

TEST(RealData, SentenceTypeTrainUsesLabelNames) {
  TaskDataSpec s;
  s.path = kData + "/sentence_type/train.csv";
  s.labels = {"declarative", "imperative", "question"};
  const auto data = load_task_data(s);
  EXPECT_EQ(data.skipped, 0u);
  EXPECT_EQ(data.examples.size(), 15768u);
  EXPECT_EQ(label_counts(data), (std::map<int64_t, size_t>{{0, 9040}, {1, 1334}, {2, 5394}}));
}

}  // namespace
}  // namespace mtst
