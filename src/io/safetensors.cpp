// safetensors reader and writer (see safetensors.h). The reader trusts nothing in the header: every
// size is checked against the file before any copy, with overflow-safe arithmetic. It tolerates
// gaps between tensors (the Python library never writes them, but they are harmless) and does not
// support big-endian hosts.
#include "mtst/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "mapped_file.h"
#include "mtst/error.h"
#include "mtst/io/atomic_file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader copies bytes as they are");

namespace mtst {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, before parsing.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  std::uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8},    {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},
    {"BF16", at::kBFloat16, 2}, {"I64", at::kLong, 8},  {"I32", at::kInt, 4},
    {"I16", at::kShort, 2},     {"I8", at::kChar, 1},   {"U8", at::kByte, 1},
    {"BOOL", at::kBool, 1},
};

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

const DtypeInfo* find_dtype(at::ScalarType type) {
  for (const DtypeInfo& info : kDtypes) {
    if (type == info.type) return &info;
  }
  return nullptr;
}

std::string supported_dtype_list() {
  std::string out;
  for (const DtypeInfo& info : kDtypes) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

struct TensorEntry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct Header {
  std::vector<TensorEntry> tensors;
  std::map<std::string, std::string> metadata;
  std::string_view data;  // The data section, which offsets are relative to.
};

// A non-negative JSON integer no larger than `max`; `what` names the field in errors.
std::uint64_t json_uint(const fs::path& path, const json& value, const std::string& what,
                        std::uint64_t max) {
  if (!value.is_number_integer()) fail(path, what + " is not an integer (" + value.dump() + ")");
  if (!value.is_number_unsigned()) {
    fail(path, what + " is " + std::to_string(value.get<std::int64_t>()) + ", which is negative");
  }
  std::uint64_t out = value.get<std::uint64_t>();
  if (out > max) fail(path, what + " is " + std::to_string(out) + ", which is too large");
  return out;
}

TensorEntry parse_entry(const fs::path& path, const std::string& name, const json& value,
                        std::uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) fail(path, where + ": header entry is not a JSON object");
  TensorEntry entry;
  entry.name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    fail(path, where + ": missing string field 'dtype'");
  }
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  entry.dtype = find_dtype(dtype_name);
  if (entry.dtype == nullptr) {
    fail(path, where + ": dtype '" + dtype_name +
                   "' is not supported (supported: " + supported_dtype_list() + ")");
  }

  auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) {
    fail(path, where + ": missing array field 'shape'");
  }
  std::uint64_t numel = 1;
  for (std::size_t i = 0; i < shape_it->size(); ++i) {
    std::uint64_t dim =
        json_uint(path, (*shape_it)[i], where + ": shape[" + std::to_string(i) + "]",
                  static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    entry.shape.push_back(static_cast<std::int64_t>(dim));
    if (__builtin_mul_overflow(numel, dim, &numel)) {
      fail(path, where + ": shape " + shape_it->dump() + " has too many elements");
    }
  }
  std::uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, entry.dtype->size, &nbytes)) {
    fail(path, where + ": shape " + shape_it->dump() + " has too many elements");
  }

  auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    fail(path, where + ": missing field 'data_offsets' of two integers");
  }
  const std::uint64_t kAny = std::numeric_limits<std::uint64_t>::max();
  entry.begin = json_uint(path, (*offsets_it)[0], where + ": data_offsets[0]", kAny);
  entry.end = json_uint(path, (*offsets_it)[1], where + ": data_offsets[1]", kAny);
  if (entry.end < entry.begin) {
    fail(path, where + ": data_offsets end " + std::to_string(entry.end) + " is before begin " +
                   std::to_string(entry.begin));
  }
  if (entry.end > data_size) {
    fail(path, where + ": data_offsets [" + std::to_string(entry.begin) + ", " +
                   std::to_string(entry.end) + "] run past the data section (" +
                   std::to_string(data_size) + " bytes; file truncated?)");
  }
  if (entry.end - entry.begin != nbytes) {
    fail(path, where + ": data_offsets span " + std::to_string(entry.end - entry.begin) +
                   " bytes but shape " + shape_text(entry.shape) + " of " + dtype_name + " needs " +
                   std::to_string(nbytes));
  }
  return entry;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const json& value) {
  std::map<std::string, std::string> out;
  if (value.is_null()) return out;
  if (!value.is_object()) fail(path, "__metadata__ is not a JSON object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      fail(path, "__metadata__ key '" + key + "' is not a string (" + item.dump() + ")");
    }
    out.emplace(key, item.get<std::string>());
  }
  return out;
}

void check_no_overlap(const fs::path& path, const std::vector<TensorEntry>& tensors) {
  std::vector<const TensorEntry*> order;
  for (const TensorEntry& entry : tensors) {
    if (entry.end > entry.begin) order.push_back(&entry);  // Empty tensors overlap nothing.
  }
  std::sort(order.begin(), order.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  const TensorEntry* furthest = nullptr;  // The entry reaching furthest so far.
  for (const TensorEntry* entry : order) {
    if (furthest != nullptr && entry->begin < furthest->end) {
      fail(path, "tensors '" + furthest->name + "' [" + std::to_string(furthest->begin) + ", " +
                     std::to_string(furthest->end) + ") and '" + entry->name + "' [" +
                     std::to_string(entry->begin) + ", " + std::to_string(entry->end) +
                     ") overlap");
    }
    if (furthest == nullptr || entry->end > furthest->end) furthest = entry;
  }
}

Header parse_header(const fs::path& path, std::string_view file) {
  if (file.size() < 8) {
    fail(path, "not a safetensors file: " + std::to_string(file.size()) +
                   " bytes is shorter than the 8-byte header length");
  }
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) {
    header_size = (header_size << 8) | static_cast<unsigned char>(file[i]);
  }
  if (header_size > file.size() - 8) {
    fail(path, "header length " + std::to_string(header_size) + " exceeds the file size " +
                   std::to_string(file.size()) + " (truncated or not a safetensors file)");
  }
  if (header_size > kMaxHeaderBytes) {
    fail(path, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  std::string_view text = file.substr(8, header_size);

  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) fail(path, "header JSON is not an object");

  Header header;
  header.data = file.substr(8 + header_size);
  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey) {
      header.metadata = parse_metadata(path, value);
    } else {
      header.tensors.push_back(parse_entry(path, key, value, header.data.size()));
    }
  }
  check_no_overlap(path, header.tensors);
  return header;
}

}  // namespace

TensorMap read_safetensors(const fs::path& path) {
  MappedFile file(path);
  Header header = parse_header(path, file.bytes());
  TensorMap out;
  for (const TensorEntry& entry : header.tensors) {
    const bool is_bool = entry.dtype->type == at::kBool;
    // Bools go through bytes so that a stray value like 2 becomes true instead of an invalid
    // bool that later kernels would misread.
    at::Tensor tensor = at::empty(entry.shape, is_bool ? at::kByte : entry.dtype->type);
    std::uint64_t nbytes = entry.end - entry.begin;
    if (nbytes > 0) std::memcpy(tensor.data_ptr(), header.data.data() + entry.begin, nbytes);
    if (is_bool) tensor = tensor.ne(0);
    out.emplace(entry.name, std::move(tensor));
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const fs::path& path) {
  MappedFile file(path);
  return parse_header(path, file.bytes()).metadata;
}

void write_safetensors(const fs::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps __metadata__ first and the tensors in name order, like the data section.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[std::string(kMetadataKey)] = std::move(meta);
  }
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = "tensor '" + name + "'";
    if (name == kMetadataKey) fail(path, "the name __metadata__ is reserved for metadata");
    if (!tensor.defined()) fail(path, where + " is undefined");
    const DtypeInfo* dtype = find_dtype(tensor.scalar_type());
    if (dtype == nullptr) {
      fail(path, where + ": dtype " + std::string(c10::toString(tensor.scalar_type())) +
                     " cannot be stored (supported: " + supported_dtype_list() + ")");
    }
    const std::uint64_t nbytes = static_cast<std::uint64_t>(tensor.numel()) * dtype->size;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype->name;
    entry["shape"] = nlohmann::ordered_json::array();
    for (std::int64_t dim : tensor.sizes()) entry["shape"].push_back(dim);
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, offset + nbytes});
    header[name] = std::move(entry);
    offset += nbytes;
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    fail(path,
         std::string("cannot encode the header (names and metadata must be UTF-8): ") + e.what());
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  AtomicWriter writer(path);
  std::ostream& out = writer.stream();
  char length[8];
  std::uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  out.write(length, 8);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const auto& [name, tensor] : tensors) {
    // One tensor at a time, so at most one extra copy is alive while writing.
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    const std::size_t nbytes = cpu.numel() * cpu.element_size();
    if (nbytes > 0) {
      out.write(static_cast<const char*>(cpu.data_ptr()), static_cast<std::streamsize>(nbytes));
    }
  }
  writer.commit();
}

}  // namespace mtst
