// Bounds-checked reading of pickle opcodes and arguments, and the names of every opcode of
// protocols 0-5 (from Python's pickle documentation) so that a refused one is reported by name.
#include "pickle_opcodes.h"

#include <unordered_map>

#include "mtst/error.h"

namespace mtst::pickle {
namespace {

const char* opcode_name(std::uint8_t op) {
  // clang-format off
  static const std::unordered_map<std::uint8_t, const char*> kNames = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"},
    {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"},
    {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
    {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"},
    {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"},
    {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"},
    {'i', "INST"}, {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"},
    {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"},
    {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"},
    {'G', "BINFLOAT"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x80, "PROTO"},
    {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"},
    {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"},
    {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"}, {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
  };
  // clang-format on
  auto it = kNames.find(op);
  return it == kNames.end() ? nullptr : it->second;
}

}  // namespace

std::string describe_opcode(std::uint8_t op) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex = std::string("0x") + kHex[op >> 4] + kHex[op & 15];
  const char* name = opcode_name(op);
  return name == nullptr ? "unknown opcode " + hex : std::string(name) + " (" + hex + ")";
}

std::uint8_t OpcodeReader::next_opcode() {
  op_pos_ = pos_;
  if (pos_ >= data_.size()) {
    op_ = 0x2e;  // Reported as if STOP were being read, which is what is missing.
    fail("pickle ends without STOP (truncated)");
  }
  op_ = u8();
  return op_;
}

std::string_view OpcodeReader::bytes(std::uint64_t n) {
  if (n > data_.size() - pos_) {
    fail("needs " + std::to_string(n) + " bytes but only " + std::to_string(data_.size() - pos_) +
         " remain (truncated or corrupt pickle)");
  }
  std::string_view out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::uint64_t OpcodeReader::le(int n) {
  std::string_view data = bytes(n);
  std::uint64_t out = 0;
  for (int i = n - 1; i >= 0; --i) out = (out << 8) | static_cast<std::uint8_t>(data[i]);
  return out;
}

std::string_view OpcodeReader::line() {
  std::size_t end = data_.find('\n', pos_);
  if (end == std::string_view::npos) fail("unterminated line (truncated pickle)");
  std::string_view out = data_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return out;
}

void OpcodeReader::fail(const std::string& what) const {
  throw Error("pickle byte " + std::to_string(op_pos_) + " (" + describe_opcode(op_) +
              "): " + what);
}

}  // namespace mtst::pickle
