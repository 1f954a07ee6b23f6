// Tests for the TensorBoard event writer: the CRC32C check value, a write/read round trip of
// scalars, the leading file_version record, and errors for corrupted, truncated and unwritable
// files. No external reader is used (neither tensorboard nor tensorflow is installed for the
// system Python), so the encoding is checked against the documented byte layout instead.
#include "mtst/io/tfevents.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mtst/error.h"
#include "test_util.h"

namespace mtst {
namespace {

using test::TempDir;

// The message of the mtst::Error that reading FILE throws ("" if none).
std::string read_error(const std::filesystem::path& file) {
  try {
    read_tfevents_scalars(file);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path write_sample(const std::filesystem::path& dir) {
  TfEventsWriter writer(dir);
  writer.add_scalar("loss", 2.5, 0, 1000.25);
  writer.add_scalar("loss", 1.25, 10, 1001.5);
  writer.add_scalar("eval/accuracy", 0.75, 10, 1002.0);
  return writer.path();
}

TEST(TfEvents, Crc32cCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(TfEvents, RoundTripsScalars) {
  TempDir dir;
  std::filesystem::path file;
  {
    TfEventsWriter writer(dir / "run1");  // Missing directory is created.
    file = writer.path();
    writer.add_scalar("loss", 2.5, 0, 1000.25);
    writer.add_scalar("loss", 1.25, 10, 1001.5);
    writer.add_scalar("eval/accuracy", 0.1, 1LL << 40, 1002.0);
    writer.add_scalar("neg", -3.0, -7);  // wall_time defaults to now.
  }
  EXPECT_EQ(file.parent_path(), dir / "run1");
  const std::string name = file.filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.size() - 5), ".mtst") << name;

  std::vector<ScalarEvent> events = read_tfevents_scalars(file);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].tag, "loss");
  EXPECT_EQ(events[0].step, 0);
  EXPECT_EQ(events[0].value, 2.5f);
  EXPECT_EQ(events[0].wall_time, 1000.25);
  EXPECT_EQ(events[1].tag, "loss");
  EXPECT_EQ(events[1].step, 10);
  EXPECT_EQ(events[1].value, 1.25f);
  EXPECT_EQ(events[2].tag, "eval/accuracy");
  EXPECT_EQ(events[2].step, 1LL << 40);
  EXPECT_EQ(events[2].value, 0.1f);
  EXPECT_EQ(events[2].wall_time, 1002.0);
  EXPECT_EQ(events[3].tag, "neg");
  EXPECT_EQ(events[3].step, -7);
  EXPECT_EQ(events[3].value, -3.0f);
  EXPECT_GT(events[3].wall_time, 1.5e9);  // "now", in seconds since the epoch.
}

TEST(TfEvents, FlushMakesRecordsVisible) {
  TempDir dir;
  TfEventsWriter writer(dir.path());
  writer.add_scalar("x", 1.0, 1);
  writer.flush();
  EXPECT_EQ(read_tfevents_scalars(writer.path()).size(), 1u);
}

TEST(TfEvents, FirstRecordIsFileVersion) {
  TempDir dir;
  const std::filesystem::path file = write_sample(dir.path());
  const std::string bytes = test::read_file(file);

  // Record framing by hand: length 24 (wall_time 9 bytes + file_version 2 + 13 bytes), LE.
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x18\0\0\0\0\0\0\0", 8));

  std::vector<std::string> records = read_tfrecords(file);
  ASSERT_EQ(records.size(), 4u);
  const std::string& first = records[0];
  ASSERT_EQ(first.size(), 24u);
  EXPECT_EQ(first[0], '\x09');  // Field 1, wire type 1 (double wall_time).
  double wall_time;
  std::memcpy(&wall_time, first.data() + 1, 8);
  EXPECT_GT(wall_time, 1.5e9);
  EXPECT_EQ(first.substr(9), std::string("\x1a\x0d") + "brain.Event:2");  // Field 3, string.

  // A scalar event, byte for byte: wall_time, step 0, summary { value { tag, simple_value } }.
  const std::string& second = records[1];
  std::string expected("\x09", 1);
  const double t = 1000.25;
  expected.append(reinterpret_cast<const char*>(&t), 8);  // Little-endian host.
  expected += std::string("\x10\x00", 2) + "\x2a\x0d" + "\x0a\x0b" + "\x0a\x04" + "loss" + "\x15";
  const float v = 2.5f;
  expected.append(reinterpret_cast<const char*>(&v), 4);
  EXPECT_EQ(second, expected);
}

TEST(TfEvents, CorruptedByteIsAnError) {
  TempDir dir;
  const std::filesystem::path file = write_sample(dir.path());
  const std::string good = test::read_file(file);
  // One byte in each region of the second record (header, length CRC, data, data CRC).
  const size_t second = 12 + 24 + 4;
  for (size_t offset : {second + 1, second + 9, second + 20, good.size() - 1}) {
    std::string bad = good;
    bad[offset] ^= 0x01;
    test::write_file(file, bad);
    const std::string err = read_error(file);
    EXPECT_NE(err.find(file.string()), std::string::npos) << "offset " << offset << ": " << err;
    EXPECT_NE(err.find("CRC"), std::string::npos) << "offset " << offset << ": " << err;
  }
}

TEST(TfEvents, TruncatedFileIsAnError) {
  TempDir dir;
  const std::filesystem::path file = write_sample(dir.path());
  const std::string good = test::read_file(file);
  for (size_t cut : {size_t{5}, size_t{30}, good.size() - 1}) {
    test::write_file(file, good.substr(0, cut));
    const std::string err = read_error(file);
    EXPECT_NE(err.find(file.string()), std::string::npos) << "cut " << cut << ": " << err;
    EXPECT_NE(err.find("truncated"), std::string::npos) << "cut " << cut << ": " << err;
  }
  test::write_file(file, "");
  EXPECT_TRUE(read_tfevents_scalars(file).empty());
}

TEST(TfEvents, MissingFileIsAnError) {
  TempDir dir;
  const std::string err = read_error(dir / "nope");
  EXPECT_NE(err.find((dir / "nope").string()), std::string::npos) << err;
}

TEST(TfEvents, UnwritableDirIsAnError) {
  TempDir dir;
  test::write_file(dir / "plain", "x");
  const std::filesystem::path bad = dir / "plain" / "logs";
  try {
    TfEventsWriter writer(bad);
    FAIL() << "expected mtst::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mtst
