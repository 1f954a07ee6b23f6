// Writes TensorBoard event files holding scalar summaries (Event.summary.value.simple_value), and
// reads them back for tests. The tensorflow.Event protobuf is encoded by hand (Debian ships no
// schema for it); only the fields used here are written. It does not write histograms, images or
// tensor summaries, rotate files, or flush on a timer: records reach disk on flush() and when the
// writer is destroyed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace mtst {

class TfEventsWriter {
 public:
  // Creates DIR (if missing) and DIR/events.out.tfevents.<unix seconds>.<hostname>.mtst (appending
  // if it exists), and writes the file_version record ("brain.Event:2"). Throws mtst::Error naming
  // the path on failure.
  explicit TfEventsWriter(const std::filesystem::path& dir);
  // Flushes; errors are swallowed (call flush() first to see them).
  ~TfEventsWriter();

  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  // Appends one Event with a single scalar VALUE (stored as float, as TensorBoard's simple_value
  // is). A negative WALL_TIME means now (seconds since the Unix epoch). Throws mtst::Error if the
  // stream has failed.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = -1);
  // Appends a SessionLog START event at STEP: TensorBoard then drops the events of earlier
  // sessions at STEP and after (a resumed run logs again what a killed one logged past its last
  // checkpoint).
  void add_session_start(int64_t step);
  // Pushes buffered records to the file; throws mtst::Error naming the path on failure.
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view data);

  std::filesystem::path path_;
  std::ofstream stream_;
};

// CRC32C (Castagnoli), as TFRecord uses before masking; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes);

// The payloads of every TFRecord in FILE, after checking each length and data CRC. Throws
// mtst::Error naming the file (and the record's byte offset) on a bad CRC or a truncated record.
std::vector<std::string> read_tfrecords(const std::filesystem::path& file);

struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  float value = 0;
  double wall_time = 0;
};

// For tests: the (tag, step, value, wall_time) of every simple_value in FILE's events, in file
// order. Events without a summary (file_version) and values of other kinds are skipped; malformed
// records or protobuf throw mtst::Error naming the file.
std::vector<ScalarEvent> read_tfevents_scalars(const std::filesystem::path& file);

}  // namespace mtst
