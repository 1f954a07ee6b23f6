// Tests for read_torch_bin and the restricted unpickler: the tiny BERT .bin against its
// safetensors twin, small torch.save fixtures (all dtypes, views, shared storages, pickle
// protocol 4), archives crafted with libtorch's zip writer, hand-written hostile pickles, and
// truncated or bit-flipped inputs, which must all end in mtst::Error rather than a crash.
#include "mtst/io/torch_bin.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <set>
#include <string>

#include "io/restricted_unpickler.h"
#include "mtst/error.h"
#include "mtst/io/safetensors.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = MTST_FIXTURES_DIR;

class TempDir {
 public:
  TempDir() {
    std::random_device seed;
    path_ = fs::temp_directory_path() /
            ("mtst_bin_test_" + std::to_string(::getpid()) + "_" + std::to_string(seed()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

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

// Runs `body`, expecting an mtst::Error whose message contains `needle`; returns the message.
template <typename Body>
std::string expect_error(Body body, const std::string& needle) {
  try {
    body();
    ADD_FAILURE() << "no error (expected '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    return e.what();
  }
  return "";
}

// --- pickle crafting ----------------------------------------------------------------------------

std::string u32le(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string op(unsigned char code) { return std::string(1, static_cast<char>(code)); }
std::string str(const std::string& s) { return "X" + u32le(s.size()) + s; }
std::string int1(unsigned char v) { return op('K') + op(v); }
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
const std::string kProto2 = op(0x80) + op(2);
const std::string kTuple2 = op(0x86);

// ('storage', torch.<storage_class>, key, 'cpu', numel) followed by BINPERSID.
std::string storage_pid(const std::string& storage_class, const std::string& key,
                        unsigned char numel) {
  return "(" + str("storage") + global("torch", storage_class) + str(key) + str("cpu") +
         int1(numel) + "tQ";
}

// _rebuild_tensor_v2(storage, offset, (rows, cols), (row_stride, 1), False, {}).
std::string rebuild_2d(const std::string& storage, unsigned char offset, unsigned char rows,
                       unsigned char cols, unsigned char row_stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "(" + storage + int1(offset) + int1(rows) +
         int1(cols) + kTuple2 + int1(row_stride) + int1(1) + kTuple2 + op(0x89) + "}" + "tR";
}

// {'w': 2x2 float view of storage '0' (4 floats)}.
std::string valid_pickle() {
  return kProto2 + "}" + str("w") + rebuild_2d(storage_pid("FloatStorage", "0", 4), 0, 2, 2, 2) +
         "s.";
}

at::Tensor arange_loader(const std::string&, at::ScalarType dtype, std::int64_t numel) {
  return at::arange(numel, at::TensorOptions().dtype(dtype));
}

TensorMap unpickle(const std::string& bytes) { return unpickle_state_dict(bytes, arange_loader); }

// --- fixtures -----------------------------------------------------------------------------------

void expect_same_tensors(const TensorMap& a, const TensorMap& b,
                         const std::set<std::string>& keys) {
  for (const std::string& key : keys) {
    ASSERT_TRUE(a.count(key) && b.count(key)) << key;
    EXPECT_EQ(a.at(key).scalar_type(), b.at(key).scalar_type()) << key;
    EXPECT_TRUE(at::equal(a.at(key), b.at(key))) << key;
  }
}

std::set<std::string> keys_of(const TensorMap& map) {
  std::set<std::string> out;
  for (const auto& entry : map) out.insert(entry.first);
  return out;
}

TEST(TorchBinTest, LegacyBinMatchesSafetensors) {
  TensorMap bin = read_torch_bin(kFixtures / "tiny-bert-legacy-bin" / "pytorch_model.bin");
  TensorMap hf = read_safetensors(kFixtures / "tiny-bert-hf" / "model.safetensors");
  EXPECT_EQ(bin.size(), 37u);
  EXPECT_EQ(keys_of(bin), keys_of(hf));  // The .bin has no pooler.* keys.
  expect_same_tensors(bin, hf, keys_of(hf));
  for (const auto& [key, tensor] : bin) EXPECT_TRUE(tensor.is_contiguous()) << key;

  // The sentence-transformers copy of the same weights also holds pooler.* tensors.
  TensorMap st = read_safetensors(kFixtures / "tiny-bert-st" / "model.safetensors");
  std::set<std::string> extras;
  for (const std::string& key : keys_of(st)) {
    if (!bin.count(key)) extras.insert(key);
  }
  for (const std::string& key : extras) std::cout << "  only in tiny-bert-st: " << key << "\n";
  EXPECT_EQ(extras, (std::set<std::string>{"pooler.dense.bias", "pooler.dense.weight"}));
  expect_same_tensors(bin, st, keys_of(bin));
}

void check_mixed(const TensorMap& sd) {
  const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"f32", at::kFloat},     {"f64", at::kDouble}, {"f16", at::kHalf},
      {"bf16", at::kBFloat16}, {"i64", at::kLong},   {"i32", at::kInt},
      {"i16", at::kShort},     {"i8", at::kChar},    {"u8", at::kByte}};
  for (const auto& [name, type] : kTypes) {
    ASSERT_TRUE(sd.count(name)) << name;
    EXPECT_EQ(sd.at(name).scalar_type(), type) << name;
    EXPECT_TRUE(at::equal(sd.at(name), at::arange(6).reshape({2, 3}).to(type))) << name;
  }
  EXPECT_TRUE(at::equal(sd.at("bool"), at::tensor({1, 0, 1}).to(at::kBool)));
  at::Tensor base = at::arange(12, at::kFloat);
  EXPECT_TRUE(at::equal(sd.at("shared_whole"), base.view({3, 4})));
  EXPECT_TRUE(at::equal(sd.at("shared_slice"), base.slice(0, 4, 8)));
  EXPECT_TRUE(at::equal(sd.at("transposed"), base.view({3, 4}).t()));
  EXPECT_TRUE(sd.at("transposed").is_contiguous());
  // Views of one storage come back as independent tensors.
  std::set<const void*> pointers;
  for (const char* name : {"shared_whole", "shared_slice", "transposed"}) {
    pointers.insert(sd.at(name).data_ptr());
  }
  EXPECT_EQ(pointers.size(), 3u);
  EXPECT_EQ(sd.at("scalar").dim(), 0);
  EXPECT_EQ(sd.at("scalar").item<float>(), 2.5f);
  EXPECT_EQ(sd.at("empty").sizes().vec(), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(sd.size(), 15u);
}

TEST(TorchBinTest, MixedDtypesViewsAndSharedStorages) {
  check_mixed(read_torch_bin(kFixtures / "io" / "mixed.bin"));
}

TEST(TorchBinTest, PickleProtocol4) {
  // FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL instead of their protocol 2 forms.
  check_mixed(read_torch_bin(kFixtures / "io" / "mixed_protocol4.bin"));
}

// --- crafted archives ---------------------------------------------------------------------------

// Writes a zip the way torch.save does; libtorch names the top-level folder after the file stem.
void write_archive(const fs::path& path,
                   const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(v));
  return out;
}

TEST(TorchBinTest, AnyTopLevelFolderName) {
  TempDir dir;
  for (const char* stem : {"archive", "pytorch_model", "x"}) {
    const fs::path path = dir / (std::string(stem) + ".bin");
    write_archive(
        path,
        {{"data.pkl", valid_pickle()}, {"byteorder", "little"}, {"data/0", floats({1, 2, 3, 4})}});
    TensorMap sd = read_torch_bin(path);
    ASSERT_EQ(sd.size(), 1u) << stem;
    EXPECT_TRUE(at::equal(sd.at("w"), at::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2}))) << stem;
  }
}

TEST(TorchBinTest, ArchiveProblemsAreErrors) {
  TempDir dir;
  const fs::path path = dir / "archive.bin";
  write_archive(path, {{"data.pkl", valid_pickle()}});
  expect_error([&] { read_torch_bin(path); }, "'data/0' is missing");

  write_archive(path, {{"data.pkl", valid_pickle()}, {"data/0", floats({1, 2, 3})}});
  expect_error([&] { read_torch_bin(path); }, "holds 12 bytes");

  write_archive(
      path, {{"data.pkl", valid_pickle()}, {"byteorder", "big"}, {"data/0", floats({1, 2, 3, 4})}});
  expect_error([&] { read_torch_bin(path); }, "byte order 'big'");

  write_archive(path, {{"something.else", "x"}});
  expect_error([&] { read_torch_bin(path); }, "no data.pkl");

  const std::string evil = kProto2 + global("os", "system") + "(" + str("echo pwned") + "tR.";
  write_archive(path, {{"data.pkl", evil}});
  std::string message = expect_error([&] { read_torch_bin(path); }, "'os.system' is not allowed");
  EXPECT_NE(message.find("archive.bin"), std::string::npos) << message;

  // A storage whose numel claims more bytes than the whole file is refused before reading.
  const std::string huge_storage = "(" + str("storage") + global("torch", "FloatStorage") +
                                   str("0") + str("cpu") + "J" + u32le(0x7fffffff) + "tQ";
  write_archive(
      path, {{"data.pkl", kProto2 + "}" + str("w") + rebuild_2d(huge_storage, 0, 2, 2, 2) + "s."},
             {"data/0", floats({1, 2, 3, 4})}});
  expect_error([&] { read_torch_bin(path); }, "more than the file holds");
}

// Found by fuzz/torch_zip_fuzz.cpp: mixed.bin with a storage record whose zip header claims
// 4 GiB - 1 bytes. libtorch's reader allocates the claimed size before reading (virtual memory
// only: it then fails reading past the file), and the outcome must be one clear error.
TEST(TorchBinTest, ARecordClaimingFourGiBIsAnError) {
  expect_error([&] { read_torch_bin(kFixtures / "io" / "record-claims-4gib.bin"); },
               "cannot read record 'data/6'");
}

TEST(TorchBinTest, NonZipFilesAreErrors) {
  TempDir dir;
  const fs::path legacy = dir / "legacy.bin";
  // The start of a pre-1.6 torch.save file: a protocol 2 pickle of torch's magic number.
  write_raw(legacy, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  std::string message = expect_error([&] { read_torch_bin(legacy); }, "legacy");
  EXPECT_NE(message.find("torch >= 1.6"), std::string::npos) << message;
  EXPECT_NE(message.find("safetensors"), std::string::npos) << message;

  const fs::path text = dir / "text.bin";
  write_raw(text, "hello");
  expect_error([&] { read_torch_bin(text); }, "not a PyTorch zip checkpoint");
  write_raw(text, "");
  expect_error([&] { read_torch_bin(text); }, "not a PyTorch zip checkpoint");
  expect_error([&] { read_torch_bin(dir / "missing.bin"); }, "no such file");
}

TEST(TorchBinTest, TruncatedAndCorruptedFixtureAreErrors) {
  TempDir dir;
  const fs::path fixture = kFixtures / "tiny-bert-legacy-bin" / "pytorch_model.bin";
  const std::string bytes = read_all(fixture);
  const fs::path cut = dir / "cut.bin";
  for (std::size_t n : {bytes.size() / 2, bytes.size() - 1, std::size_t{100}, std::size_t{4}}) {
    write_raw(cut, bytes.substr(0, n));
    EXPECT_THROW(read_torch_bin(cut), Error) << "length " << n;
  }

  std::size_t pickle_offset = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(fixture.string());
    pickle_offset = reader.getRecordOffset("data.pkl");
  }
  // libtorch builds miniz without CRC checks, so a flipped byte reaches the unpickler: it must
  // be an mtst::Error or a state dict, never a crash. Flipping the PROTO or GLOBAL opcode
  // (bytes 0 and 2) always breaks the pickle.
  const fs::path flipped = dir / "flipped.bin";
  for (std::size_t delta : {0, 2, 1, 40, 200, 6000}) {
    std::string corrupt = bytes;
    corrupt[pickle_offset + delta] ^= 0x5a;
    write_raw(flipped, corrupt);
    if (delta == 0 || delta == 2) {
      expect_error([&] { read_torch_bin(flipped); }, "flipped.bin: data.pkl: pickle byte");
    } else {
      try {
        read_torch_bin(flipped);
      } catch (const Error&) {
      }
    }
  }
}

// --- the unpickler on its own
// ---------------------------------------------------------------------

TEST(RestrictedUnpicklerTest, MinimalStateDict) {
  TensorMap sd = unpickle(valid_pickle());
  ASSERT_EQ(sd.size(), 1u);
  EXPECT_TRUE(at::equal(sd.at("w"), at::arange(4, at::kFloat).view({2, 2})));
}

TEST(RestrictedUnpicklerTest, HostilePicklesAreErrors) {
  const std::string sd_head = kProto2 + "}" + str("w");
  const std::string storage = storage_pid("FloatStorage", "0", 4);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kProto2 + global("os", "system") + "(" + str("ls") + "tR.", "'os.system' is not allowed"},
      {kProto2 + op(0x8c) + op(8) + "builtins" + op(0x8c) + op(4) + "eval" + op(0x93) + ".",
       "'builtins.eval' is not allowed"},
      {kProto2 + global("torch._utils", "_rebuild_tensor_v3") + ".", "_rebuild_tensor_v3"},
      {kProto2 + global("torch", "UntypedStorage") + ".", "torch.UntypedStorage"},
      {kProto2 + "s.", "stack underflow"},
      {kProto2 + "(s.", "stack underflow"},  // Items below a MARK are out of reach.
      {kProto2 + "t.", "no MARK"},
      {kProto2 + "h" + op(5) + ".", "memo index 5 is not defined"},
      {kProto2 + "X" + u32le(0xffffffffu) + "abc", "remain"},
      {kProto2 + op(0x8d) + std::string(8, '\xff'), "remain"},
      {kProto2 + op(0x8a) + op(9) + std::string(9, '\x01') + ".", "64 bits"},
      {kProto2 + "i" + "os\nsystem\n", "INST"},
      {kProto2 + op(0x81), "NEWOBJ"},
      {kProto2 + op(0xff), "unknown opcode 0xff"},
      {kProto2 + op(0x80) + op(6), "protocol 6"},
      {kProto2 + "}", "without STOP"},
      {kProto2 + "c" + "os", "unterminated line"},
      {kProto2 + int1(1) + ".", "not a state dict"},
      {kProto2 + "}" + str("a") + int1(1) + "s.", "'a' is a int, not a tensor"},
      {kProto2 + "}" + int1(1) + int1(1) + "s.", "key is a int"},
      {kProto2 + global("collections", "OrderedDict") + "(" + int1(1) + "tR.", "arguments"},
      {kProto2 + global("torch", "FloatStorage") + ")R.", "cannot be called"},
      {kProto2 + int1(1) + ")R.", "cannot call a int"},
      {kProto2 + "(" + str("storage") + "tQ.", "persistent id"},
      {kProto2 + "(" + str("storage") + global("collections", "OrderedDict") + str("0") +
           str("cpu") + int1(1) + "tQ.",
       "not a storage class"},
      {sd_head + rebuild_2d(storage, 0, 3, 3, 3) + "s.", "reaches element 8"},
      {sd_head + rebuild_2d(storage, 2, 2, 2, 2) + "s.", "reaches element 5"},
      // Stride-0 rows: 400 elements over 4 (materialised, 1 GiB views of a 1-element storage
      // made a small file cost gigabytes).
      {sd_head + rebuild_2d(storage, 0, 200, 2, 0) + "s.", "400 elements over a storage of 4"},
      {kProto2 + int1(1) + "}b.", "BUILD on a int"},
      {kProto2 + "]" + int1(1) + int1(2) + "s.", "SETITEM target"},
  };
  for (const auto& entry : cases) {
    const std::string& bytes = entry.first;  // a named reference: lambdas cannot capture
    SCOPED_TRACE(entry.second);              // structured bindings in C++17 (clang refuses)
    expect_error([&] { unpickle(bytes); }, entry.second);
  }
  // The message locates the problem in the pickle.
  expect_error([&] { unpickle(kProto2 + "h" + op(5) + "."); }, "pickle byte 2 (BINGET");
}

TEST(RestrictedUnpicklerTest, LoaderResultsAreChecked) {
  auto wrong_numel = [](const std::string&, at::ScalarType dtype, std::int64_t) {
    return at::zeros({3}, at::TensorOptions().dtype(dtype));
  };
  expect_error([&] { unpickle_state_dict(valid_pickle(), wrong_numel); },
               "storage loader returned");
  auto wrong_dtype = [](const std::string&, at::ScalarType, std::int64_t numel) {
    return at::zeros({numel}, at::kDouble);
  };
  expect_error([&] { unpickle_state_dict(valid_pickle(), wrong_dtype); },
               "storage loader returned");
  auto throwing = [](const std::string& key, at::ScalarType, std::int64_t) -> at::Tensor {
    throw Error("no record for " + key);
  };
  expect_error([&] { unpickle_state_dict(valid_pickle(), throwing); }, "no record for 0");
}

TEST(RestrictedUnpicklerTest, TiedTensorsDoNotAlias) {
  // The same tensor object under two keys is memoized once (BINPUT/BINGET) in the pickle.
  const std::string bytes = kProto2 + "}(" + str("a") +
                            rebuild_2d(storage_pid("FloatStorage", "0", 4), 0, 2, 2, 2) + "q" +
                            op(9) + str("b") + "h" + op(9) + "u.";
  TensorMap sd = unpickle(bytes);
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_TRUE(at::equal(sd.at("a"), sd.at("b")));
  EXPECT_NE(sd.at("a").data_ptr(), sd.at("b").data_ptr());
}

TEST(RestrictedUnpicklerTest, CopiesAreBoundedByTheStorages) {
  // One 2x2 float tensor (16 bytes) memoized under 70,000 names: every name past the first is a
  // copy, 1.1 MB in all from 16 bytes of storage, past twice the storages plus 1 MiB of slack.
  const std::string storage = storage_pid("FloatStorage", "0", 4);
  std::string bytes = kProto2 + "}(" + str("a") + rebuild_2d(storage, 0, 2, 2, 2) + "q" + op(9);
  for (int i = 0; i < 70000; ++i) bytes += str("k" + std::to_string(i)) + "h" + op(9);
  bytes += "u.";
  expect_error([&] { unpickle(bytes); }, "a state dict copies at most twice its storages");
}

TEST(RestrictedUnpicklerTest, DeepNestingAndCyclesDoNotCrash) {
  // A million nested 1-tuples: destroying them must not recurse.
  std::string nested = kProto2 + ")" + std::string(1000000, '\x85') + ".";
  expect_error([&] { unpickle(nested); }, "not a state dict");
  // A list that contains itself.
  expect_error([&] { unpickle(kProto2 + "]q" + op(0) + "h" + op(0) + "a."); }, "not a state dict");
}

TEST(RestrictedUnpicklerTest, EveryTruncationIsAnError) {
  const std::string bytes = valid_pickle();
  for (std::size_t n = 0; n + 1 < bytes.size(); ++n) {
    EXPECT_THROW(unpickle(bytes.substr(0, n)), Error) << "length " << n;
  }
}

// Every single-byte corruption of the real fixture's data.pkl either still loads or is an
// mtst::Error; nothing crashes, hangs or throws anything else.
TEST(RestrictedUnpicklerTest, ByteFlipsOfFixturePickle) {
  caffe2::serialize::PyTorchStreamReader reader(
      (kFixtures / "tiny-bert-legacy-bin" / "pytorch_model.bin").string());
  auto [data, size] = reader.getRecord("data.pkl");
  const std::string pickle(static_cast<const char*>(data.get()), size);
  std::map<std::pair<at::ScalarType, std::int64_t>, at::Tensor> cache;
  StorageLoader zeros = [&](const std::string&, at::ScalarType dtype, std::int64_t numel) {
    if (numel > (1 << 22)) throw Error("storage too large for this test");
    auto& slot = cache[{dtype, numel}];
    if (!slot.defined()) slot = at::zeros({numel}, at::TensorOptions().dtype(dtype));
    return slot;
  };
  ASSERT_EQ(unpickle_state_dict(pickle, zeros).size(), 37u);
  int errors = 0;
  int loads = 0;
  for (std::size_t i = 0; i < pickle.size(); ++i) {
    for (unsigned char mask : {0x01, 0xff}) {
      std::string corrupt = pickle;
      corrupt[i] = static_cast<char>(corrupt[i] ^ mask);
      try {
        unpickle_state_dict(corrupt, zeros);
        ++loads;
      } catch (const Error&) {
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 0);
  std::cout << "  byte flips: " << loads << " still load, " << errors << " errors\n";
}

}  // namespace
}  // namespace mtst
