// Tests for the safetensors reader/writer and the atomic file writer it uses: the tiny BERT
// fixture, bit-exact round trips, the on-disk layout Python's safetensors requires, and one
// malformed file per validation rule (each must be an mtst::Error naming the problem).
#include "mtst/io/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "mtst/error.h"
#include "mtst/io/atomic_file.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device seed;
    path_ = fs::temp_directory_path() /
            ("mtst_st_test_" + std::to_string(::getpid()) + "_" + std::to_string(seed()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_raw(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

// A safetensors file with the given header text and data section.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// Expects read_safetensors(path) to throw an mtst::Error whose message contains `needle` and the
// file name.
void expect_read_error(const fs::path& path, const std::string& needle) {
  try {
    read_safetensors(path);
    ADD_FAILURE() << "no error for " << path << " (expected '" << needle << "')";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
  }
}

bool bytes_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;  // memcmp must not see the null data of empty tensors.
  at::Tensor ca = a.contiguous();
  at::Tensor cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

TEST(SafetensorsTest, LoadsTinyBertFixture) {
  const fs::path path = fs::path(MTST_FIXTURES_DIR) / "tiny-bert-hf" / "model.safetensors";
  TensorMap tensors = read_safetensors(path);
  EXPECT_EQ(tensors.size(), 37u);  // 5 embedding tensors + 16 per layer × 2 layers.
  const std::map<std::string, std::vector<std::int64_t>> expected = {
      {"embeddings.word_embeddings.weight", {30522, 32}},
      {"embeddings.position_embeddings.weight", {64, 32}},
      {"embeddings.token_type_embeddings.weight", {2, 32}},
      {"embeddings.LayerNorm.weight", {32}},
      {"encoder.layer.0.attention.self.query.weight", {32, 32}},
      {"encoder.layer.1.intermediate.dense.weight", {64, 32}},
      {"encoder.layer.1.output.dense.weight", {32, 64}},
      {"encoder.layer.1.output.LayerNorm.bias", {32}},
  };
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(tensors.count(name)) << name;
    EXPECT_EQ(tensors[name].sizes().vec(), shape) << name;
    EXPECT_EQ(tensors[name].scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(tensors[name].is_contiguous()) << name;
  }
  EXPECT_FALSE(tensors.count("encoder.layer.2.output.dense.weight"));
  // Random weights with non-trivial LayerNorm: not all ones.
  EXPECT_FALSE(at::equal(tensors["embeddings.LayerNorm.weight"], at::ones({32})));

  auto metadata = read_safetensors_metadata(path);
  EXPECT_EQ(metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
}

TEST(SafetensorsTest, RoundTripIsBitExact) {
  TempDir dir;
  at::manual_seed(7);
  TensorMap tensors;
  tensors["a.f32"] = at::randn({3, 5});
  tensors["a.f32"][0][0] = std::numeric_limits<float>::quiet_NaN();
  tensors["a.f32"][0][1] = -0.0f;
  tensors["b.bf16"] = at::randn({4, 2}).to(at::kBFloat16);
  tensors["c.f16"] = at::randn({7}).to(at::kHalf);
  tensors["d.i64"] = at::arange(-5, 7, at::kLong).reshape({3, 4});
  tensors["e.f64"] = at::randn({2, 2}, at::kDouble);
  tensors["f.i32"] = at::arange(6, at::kInt);
  tensors["g.i16"] = at::arange(6, at::kShort);
  tensors["h.i8"] = at::arange(-3, 3, at::kChar);
  tensors["i.u8"] = at::arange(250, 256, at::kInt).to(at::kByte);
  tensors["j.bool"] = at::arange(5) % 2 == 0;
  tensors["k.scalar"] = at::scalar_tensor(3.25);
  tensors["l.empty"] = at::zeros({0, 3});
  tensors["m.transposed"] = at::arange(12, at::kFloat).reshape({3, 4}).t();  // Non-contiguous.
  tensors["unicode.é"] = at::ones({1});
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "héllo"}};

  const fs::path path = dir / "round.safetensors";
  write_safetensors(path, tensors, metadata);
  TensorMap back = read_safetensors(path);
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_TRUE(bytes_equal(tensor, back[name])) << name;
    EXPECT_TRUE(back[name].is_contiguous()) << name;
  }
  EXPECT_EQ(back["k.scalar"].dim(), 0);
  EXPECT_EQ(read_safetensors_metadata(path), metadata);

  // Overwriting an existing file goes through the same atomic path.
  write_safetensors(path, {{"only", at::ones({2})}});
  EXPECT_EQ(read_safetensors(path).size(), 1u);
  EXPECT_TRUE(read_safetensors_metadata(path).empty());
}

// The layout the Python library insists on when loading: header padded with spaces to a multiple
// of 8 and starting with '{', tensors packed without gaps up to the end of the file.
TEST(SafetensorsTest, WrittenLayoutFollowsTheSpec) {
  TempDir dir;
  const fs::path path = dir / "layout.safetensors";
  write_safetensors(
      path, {{"z", at::ones({3}, at::kHalf)}, {"a", at::ones({2, 2})}, {"e", at::zeros({0})}},
      {{"format", "pt"}});
  const std::string bytes = read_all(path);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | (unsigned char)bytes[i];
  EXPECT_EQ(header_size % 8, 0u);
  ASSERT_LE(8 + header_size, bytes.size());
  const std::string header_text = bytes.substr(8, header_size);
  EXPECT_EQ(header_text.front(), '{');
  const auto header = nlohmann::json::parse(header_text);
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["a"]["dtype"], "F32");
  EXPECT_EQ(header["a"]["shape"], nlohmann::json::array({2, 2}));
  EXPECT_EQ(header["z"]["dtype"], "F16");
  // Name order: a [0,16), e [16,16), z [16,22); data ends exactly at the end of the file.
  EXPECT_EQ(header["a"]["data_offsets"], nlohmann::json::array({0, 16}));
  EXPECT_EQ(header["e"]["data_offsets"], nlohmann::json::array({16, 16}));
  EXPECT_EQ(header["z"]["data_offsets"], nlohmann::json::array({16, 22}));
  EXPECT_EQ(bytes.size(), 8 + header_size + 22);
}

TEST(SafetensorsTest, WriteRejectsWhatItCannotStore) {
  TempDir dir;
  const fs::path path = dir / "bad.safetensors";
  EXPECT_THROW(write_safetensors(path, {{"c", at::ones({2}, at::kComplexFloat)}}), Error);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", at::ones({2})}}), Error);
  EXPECT_THROW(write_safetensors(path, {{"undefined", at::Tensor()}}), Error);
  EXPECT_THROW(write_safetensors(path, {{std::string("bad\xff", 4), at::ones({1})}}), Error);
  EXPECT_THROW(write_safetensors(dir / "no_such_dir" / "x.safetensors", {}), Error);
  EXPECT_TRUE(fs::is_empty(dir.path()));  // No target and no temporary file left behind.
}

TEST(SafetensorsTest, EmptyTensorMapIsValid) {
  TempDir dir;
  write_safetensors(dir / "empty.safetensors", {});
  EXPECT_TRUE(read_safetensors(dir / "empty.safetensors").empty());
}

TEST(SafetensorsTest, GapsBetweenTensorsAreTolerated) {
  TempDir dir;
  const fs::path path = dir / "gap.safetensors";
  std::string data(12, '\0');
  float one = 1.0f;
  std::memcpy(&data[8], &one, 4);
  write_raw(path,
            safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", data));
  TensorMap tensors = read_safetensors(path);
  EXPECT_EQ(tensors.at("x").item<float>(), 1.0f);
}

TEST(SafetensorsTest, BoolBytesAreNormalized) {
  TempDir dir;
  const fs::path path = dir / "bool.safetensors";
  write_raw(path, safetensors_bytes(R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                    std::string("\x00\x01\x07", 3)));
  at::Tensor b = read_safetensors(path).at("b");
  EXPECT_EQ(b.scalar_type(), at::kBool);
  EXPECT_TRUE(at::equal(b.to(at::kByte), at::tensor({0, 1, 1}, at::kByte)));
}

// One entry per validation rule: the file's bytes and a fragment of the expected message.
struct BadCase {
  const char* name;
  std::string bytes;
  const char* needle;
};

std::string tensor_header(const std::string& entry) { return R"({"t":)" + entry + "}"; }

TEST(SafetensorsTest, MalformedFilesAreErrors) {
  TempDir dir;
  const std::string f32x2 = std::string(8, '\0');
  const std::vector<BadCase> cases = {
      {"short", "abc", "shorter than the 8-byte"},
      {"empty_file", "", "shorter than the 8-byte"},
      {"header_too_long", le64(1000) + "{}", "exceeds the file size"},
      {"header_huge", le64(~std::uint64_t{0}) + "{}", "exceeds the file size"},
      {"not_json", safetensors_bytes("{not json", ""), "not valid JSON"},
      {"not_object", safetensors_bytes("[1,2]", ""), "not an object"},
      {"entry_not_object", safetensors_bytes(tensor_header("3"), ""), "not a JSON object"},
      {"missing_dtype",
       safetensors_bytes(tensor_header(R"({"shape":[2],"data_offsets":[0,8]})"), f32x2), "'dtype'"},
      {"unknown_dtype",
       safetensors_bytes(tensor_header(R"({"dtype":"Q7","shape":[2],"data_offsets":[0,8]})"),
                         f32x2),
       "dtype 'Q7' is not supported"},
      {"shape_not_array",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"), f32x2),
       "'shape'"},
      {"negative_shape",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
                         f32x2),
       "negative"},
      {"float_shape",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
                         f32x2),
       "not an integer"},
      {"shape_overflow",
       safetensors_bytes(
           tensor_header(
               R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]})"),
           f32x2),
       "too many elements"},
      {"offsets_missing", safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[2]})"), f32x2),
       "'data_offsets'"},
      {"offsets_out_of_range",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[2],"data_offsets":[4,12]})"),
                         f32x2),
       "run past the data section"},
      {"end_before_begin",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"),
                         f32x2),
       "before begin"},
      {"negative_offset",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
                         f32x2),
       "negative"},
      {"size_mismatch",
       safetensors_bytes(tensor_header(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
                         f32x2),
       "needs 12"},
      {"overlap",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::string(12, '\0')),
       "overlap"},
      {"metadata_not_string", safetensors_bytes(R"({"__metadata__":{"format":3}})", ""),
       "__metadata__ key 'format'"},
      {"metadata_not_object", safetensors_bytes(R"({"__metadata__":[1]})", ""),
       "__metadata__ is not a JSON object"},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.name);
    const fs::path path = dir / (std::string(bad.name) + ".safetensors");
    write_raw(path, bad.bytes);
    expect_read_error(path, bad.needle);
  }
  // The offending tensor is named.
  expect_read_error(dir / "size_mismatch.safetensors", "tensor 't'");
  expect_read_error(dir / "overlap.safetensors", "'a'");
  expect_read_error(dir / "does_not_exist.safetensors", "cannot open");
  EXPECT_THROW(read_safetensors_metadata(dir / "not_json.safetensors"), Error);
  EXPECT_THROW(read_safetensors(dir.path()), Error);  // A directory, not a file.
}

TEST(SafetensorsTest, EveryTruncationOfAValidFileIsAnError) {
  TempDir dir;
  const fs::path good = dir / "good.safetensors";
  write_safetensors(good, {{"a", at::ones({3})}, {"b", at::ones({2}, at::kLong)}});
  const std::string bytes = read_all(good);
  const fs::path cut = dir / "cut.safetensors";
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_raw(cut, bytes.substr(0, n));
    EXPECT_THROW(read_safetensors(cut), Error) << "length " << n;
  }
}

// --- atomic_file -------------------------------------------------------------------------------

TEST(AtomicFileTest, WritesAndReplaces) {
  TempDir dir;
  const fs::path path = dir / "out.txt";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_all(path), "first");
  write_file_atomic(path, std::string("sec\0nd", 6));
  EXPECT_EQ(read_all(path), std::string("sec\0nd", 6));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFileTest, UncommittedWriterLeavesTargetAlone) {
  TempDir dir;
  const fs::path path = dir / "out.txt";
  write_file_atomic(path, "old");
  {
    AtomicWriter writer(path);
    writer.stream() << "new but abandoned";
    EXPECT_TRUE(fs::exists(writer.temp_path()));
    EXPECT_EQ(writer.temp_path().parent_path(), path.parent_path());
  }
  EXPECT_EQ(read_all(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFileTest, StreamingCommitAndDoubleCommit) {
  TempDir dir;
  const fs::path path = dir / "stream.jsonl";
  AtomicWriter writer(path);
  for (int i = 0; i < 3; ++i) writer.stream() << "{\"i\":" << i << "}\n";
  EXPECT_FALSE(fs::exists(path));  // Nothing visible before commit.
  writer.commit();
  EXPECT_EQ(read_all(path), "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
  EXPECT_THROW(writer.commit(), Error);
}

TEST(AtomicFileTest, MissingDirectoryIsAnError) {
  TempDir dir;
  try {
    write_file_atomic(dir / "missing" / "out.txt", "x");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out.txt"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mtst
