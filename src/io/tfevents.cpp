// TensorBoard event files (see tfevents.h): TFRecord framing with masked CRC32C from Boost.CRC,
// and a hand-written encoder/decoder for the few tensorflow.Event fields used. The decoder skips
// unknown fields of the known wire types but does not handle groups (wire types 3 and 4), which
// TensorBoard never writes.
#include "mtst/io/tfevents.h"

#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iterator>
#include <system_error>

#include "mtst/error.h"

namespace mtst {
namespace {

using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

uint32_t masked_crc32c(std::string_view bytes) {
  uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// --- Encoding ------------------------------------------------------------------------------

void put_fixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | type);
}

void put_double_field(std::string& out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_fixed64(out, bits);
}

void put_float_field(std::string& out, uint32_t field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_fixed32(out, bits);
}

void put_bytes_field(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// tensorflow.Event field numbers.
constexpr uint32_t kEventWallTime = 1;
constexpr uint32_t kEventStep = 2;
constexpr uint32_t kEventFileVersion = 3;
constexpr uint32_t kEventSummary = 5;
constexpr uint32_t kEventSessionLog = 7;  // 6 is the deprecated log_message
constexpr uint32_t kSessionLogStatus = 1;
constexpr uint64_t kSessionLogStart = 1;  // SessionLog.SessionStatus.START
// Summary.value, and Summary.Value fields.
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1;
constexpr uint32_t kValueSimpleValue = 2;

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// --- Decoding ------------------------------------------------------------------------------

// A bounded reader over one protobuf message; errors name the file.
class ProtoReader {
 public:
  ProtoReader(std::string_view bytes, const std::string& where) : rest_(bytes), where_(where) {}

  bool done() const { return rest_.empty(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) fail("truncated varint");
      auto byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    fail("varint longer than 10 bytes");
  }

  uint64_t fixed(size_t n) {
    if (rest_.size() < n) fail("truncated fixed-width field");
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    rest_.remove_prefix(n);
    return v;
  }

  std::string_view bytes() {
    uint64_t n = varint();
    if (n > rest_.size()) fail("length-delimited field runs past its message");
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

  void skip(uint32_t type) {
    switch (type) {
      case kVarint:
        varint();
        break;
      case kFixed64:
        fixed(8);
        break;
      case kLengthDelimited:
        bytes();
        break;
      case kFixed32:
        fixed(4);
        break;
      default:
        fail("unsupported protobuf wire type " + std::to_string(type));
    }
  }

  // Reads a key; returns false at the end of the message.
  bool next(uint32_t& field, uint32_t& type) {
    if (done()) return false;
    uint64_t key = varint();
    field = static_cast<uint32_t>(key >> 3);
    type = static_cast<uint32_t>(key & 7);
    if (field == 0) fail("protobuf field number 0");
    return true;
  }

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

 private:
  std::string_view rest_;
  const std::string& where_;
};

double bits_to_double(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

float bits_to_float(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

uint64_t read_le(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return v;
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  Crc32c crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

TfEventsWriter::TfEventsWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create event directory " + dir.string() + ": " + ec.message());
  path_ =
      dir / ("events.out.tfevents." + std::to_string(static_cast<long long>(std::time(nullptr))) +
             "." + host_name() + ".mtst");
  errno = 0;
  stream_.open(path_, std::ios::binary | std::ios::out | std::ios::app);
  if (!stream_.is_open()) {
    int err = errno;
    throw Error("cannot open event file " + path_.string() +
                (err != 0 ? ": " + std::string(std::strerror(err)) : std::string()));
  }
  std::string event;
  put_double_field(event, kEventWallTime, now_seconds());
  put_bytes_field(event, kEventFileVersion, "brain.Event:2");
  write_record(event);
  flush();
}

TfEventsWriter::~TfEventsWriter() {
  if (stream_.is_open()) stream_.flush();
}

void TfEventsWriter::add_scalar(const std::string& tag, double value, int64_t step,
                                double wall_time) {
  std::string summary_value;
  put_bytes_field(summary_value, kValueTag, tag);
  put_float_field(summary_value, kValueSimpleValue, static_cast<float>(value));
  std::string summary;
  put_bytes_field(summary, kSummaryValue, summary_value);

  std::string event;
  put_double_field(event, kEventWallTime, wall_time < 0 ? now_seconds() : wall_time);
  put_key(event, kEventStep, kVarint);
  put_varint(event, static_cast<uint64_t>(step));
  put_bytes_field(event, kEventSummary, summary);
  write_record(event);
}

void TfEventsWriter::add_session_start(int64_t step) {
  std::string session_log;
  put_key(session_log, kSessionLogStatus, kVarint);
  put_varint(session_log, kSessionLogStart);
  std::string event;
  put_double_field(event, kEventWallTime, now_seconds());
  put_key(event, kEventStep, kVarint);
  put_varint(event, static_cast<uint64_t>(step));
  put_bytes_field(event, kEventSessionLog, session_log);
  write_record(event);
}

void TfEventsWriter::write_record(std::string_view data) {
  std::string header;
  put_fixed64(header, data.size());
  put_fixed32(header, masked_crc32c(header));
  std::string footer;
  put_fixed32(footer, masked_crc32c(data));
  stream_.write(header.data(), static_cast<std::streamsize>(header.size()));
  stream_.write(data.data(), static_cast<std::streamsize>(data.size()));
  stream_.write(footer.data(), static_cast<std::streamsize>(footer.size()));
  if (!stream_) throw Error("cannot write event file " + path_.string());
}

void TfEventsWriter::flush() {
  stream_.flush();
  if (!stream_) throw Error("cannot write event file " + path_.string());
}

std::vector<std::string> read_tfrecords(const std::filesystem::path& file) {
  const std::string where = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open event file " + where);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read event file " + where);

  std::vector<std::string> records;
  std::string_view rest(bytes);
  while (!rest.empty()) {
    const size_t offset = bytes.size() - rest.size();
    auto fail = [&](const std::string& what) {
      throw Error(where + ": record at byte " + std::to_string(offset) + ": " + what);
    };
    if (rest.size() < 12) fail("truncated record header");
    std::string_view length_bytes = rest.substr(0, 8);
    if (static_cast<uint32_t>(read_le(rest.substr(8, 4))) != masked_crc32c(length_bytes)) {
      fail("length CRC mismatch");
    }
    const uint64_t length = read_le(length_bytes);
    rest.remove_prefix(12);
    if (rest.size() < 4 || length > rest.size() - 4) fail("truncated record data");
    std::string_view data = rest.substr(0, length);
    if (static_cast<uint32_t>(read_le(rest.substr(length, 4))) != masked_crc32c(data)) {
      fail("data CRC mismatch");
    }
    records.emplace_back(data);
    rest.remove_prefix(length + 4);
  }
  return records;
}

std::vector<ScalarEvent> read_tfevents_scalars(const std::filesystem::path& file) {
  const std::string where = file.string();
  std::vector<ScalarEvent> out;
  for (const std::string& record : read_tfrecords(file)) {
    ProtoReader event(record, where);
    double wall_time = 0;
    int64_t step = 0;
    std::vector<std::string_view> summaries;
    uint32_t field, type;
    while (event.next(field, type)) {
      if (field == kEventWallTime && type == kFixed64) {
        wall_time = bits_to_double(event.fixed(8));
      } else if (field == kEventStep && type == kVarint) {
        step = static_cast<int64_t>(event.varint());
      } else if (field == kEventSummary && type == kLengthDelimited) {
        summaries.push_back(event.bytes());
      } else {
        event.skip(type);
      }
    }
    // Step and wall_time may follow the summary in the encoding, so values are built afterwards.
    for (std::string_view summary_bytes : summaries) {
      ProtoReader summary(summary_bytes, where);
      while (summary.next(field, type)) {
        if (field != kSummaryValue || type != kLengthDelimited) {
          summary.skip(type);
          continue;
        }
        ProtoReader value(summary.bytes(), where);
        ScalarEvent scalar;
        scalar.step = step;
        scalar.wall_time = wall_time;
        bool has_simple_value = false;
        while (value.next(field, type)) {
          if (field == kValueTag && type == kLengthDelimited) {
            scalar.tag = std::string(value.bytes());
          } else if (field == kValueSimpleValue && type == kFixed32) {
            scalar.value = bits_to_float(static_cast<uint32_t>(value.fixed(4)));
            has_simple_value = true;
          } else {
            value.skip(type);
          }
        }
        if (has_simple_value) out.push_back(std::move(scalar));
      }
    }
  }
  return out;
}

}  // namespace mtst
