// read_torch_bin (see torch_bin.h): the zip side of a torch.save checkpoint. libtorch's
// PyTorchStreamReader finds the archive's top-level folder itself (it varies: `archive/`,
// `pytorch_model/`, ...); records are looked up by their name below that folder. libtorch builds
// its zip reader without CRC checks, so corruption is caught only by the structural checks here
// and in the unpickler. Big-endian archives and storages shared across files are not supported.
#include "mtst/io/torch_bin.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "mtst/error.h"
#include "restricted_unpickler.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using caffe2::serialize::PyTorchStreamReader;

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

// The zip reader's own message for a non-zip is cryptic; recognize the common cases first.
void check_zip_signature(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  if (in.gcount() == 4 && std::string_view(magic, 4) == std::string_view("PK\x03\x04", 4)) return;
  const char* kHint =
      "; re-save it with torch >= 1.6 (torch.save(torch.load(f), f)) or convert it to "
      "safetensors";
  if (in.gcount() >= 1 && static_cast<unsigned char>(magic[0]) == 0x80) {
    fail(path, std::string("legacy (pre-1.6, non-zip) torch.save format is not supported") + kHint);
  }
  fail(path, std::string("not a PyTorch zip checkpoint") + kHint);
}

std::string read_small_record(PyTorchStreamReader& reader, const std::string& name) {
  auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

// The zip reader hands back storages as owned buffers; a tensor wraps each without a copy.
at::Tensor load_storage(const fs::path& path, PyTorchStreamReader& reader, std::uintmax_t file_size,
                        const std::string& key, at::ScalarType dtype, std::int64_t numel) {
  const std::string record = "data/" + key;
  if (!reader.hasRecord(record)) {
    fail(path, "storage record '" + record + "' is missing from the archive");
  }
  const std::uint64_t element_size = c10::elementSize(dtype);
  std::uint64_t expected = 0;
  // Checked before reading, so a corrupt numel cannot make us allocate absurd amounts.
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), element_size, &expected) ||
      expected > file_size) {
    fail(path, "storage '" + record + "' claims " + std::to_string(numel) + " elements of " +
                   c10::toString(dtype) + ", more than the file holds");
  }
  std::tuple<at::DataPtr, std::size_t> loaded;
  try {
    loaded = reader.getRecord(record);
  } catch (const c10::Error& e) {
    fail(path, "cannot read record '" + record + "': " + e.what_without_backtrace());
  }
  auto& [data, size] = loaded;
  if (size != expected) {
    fail(path, "storage record '" + record + "' holds " + std::to_string(size) +
                   " bytes, but the pickle says " + std::to_string(numel) + " elements of " +
                   c10::toString(dtype) + " (" + std::to_string(expected) + " bytes)");
  }
  const bool is_bool = dtype == at::kBool;
  const at::ScalarType wrap_type = is_bool ? at::kByte : dtype;
  if (numel == 0) return at::empty({0}, at::TensorOptions().dtype(dtype));
  auto owner = std::make_shared<at::DataPtr>(std::move(data));
  void* raw = owner->get();
  at::Tensor tensor = at::from_blob(
      raw, {numel}, [owner](void*) mutable { owner.reset(); },
      at::TensorOptions().dtype(wrap_type));
  // A stray byte value such as 2 must become true, not an invalid bool.
  return is_bool ? tensor.ne(0) : tensor;
}

}  // namespace

TensorMap read_torch_bin(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) fail(path, "cannot open: no such file");
  if (!fs::is_regular_file(path, error)) fail(path, "cannot open: not a regular file");
  const std::uintmax_t file_size = fs::file_size(path, error);
  if (error) fail(path, "cannot open: " + error.message());
  check_zip_signature(path);

  try {
    PyTorchStreamReader reader(path.string());
    if (reader.hasRecord("byteorder")) {
      std::string order = read_small_record(reader, "byteorder");
      if (order != "little") fail(path, "byte order '" + order + "' is not supported");
    }
    if (!reader.hasRecord("data.pkl")) {
      fail(path, "the archive has no data.pkl record (not a torch.save checkpoint)");
    }
    const std::string pickle = read_small_record(reader, "data.pkl");
    StorageLoader loader = [&](const std::string& key, at::ScalarType dtype, std::int64_t numel) {
      return load_storage(path, reader, file_size, key, dtype, numel);
    };
    try {
      return unpickle_state_dict(pickle, loader);
    } catch (const Error& e) {
      const std::string message = e.what();
      // Loader errors already name the file; the unpickler's do not.
      if (message.rfind(path.string(), 0) == 0) throw;
      fail(path, "data.pkl: " + message);
    }
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail(path, std::string("cannot read the zip archive (truncated or corrupt?): ") +
                   e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail(path, std::string("cannot read the zip archive (truncated or corrupt?): ") + e.what());
  }
}

}  // namespace mtst
