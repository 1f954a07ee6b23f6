// The byte level of Python pickles (protocols 0-5) for the restricted unpickler: named constants
// for the opcodes it executes, a bounds-checked reader of opcodes and their arguments, and opcode
// descriptions for error messages. What the opcodes mean is restricted_unpickler.cpp's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtst::pickle {

// Opcodes this unpickler executes (values from Python's pickle protocol 0-5 definitions).
enum Op : std::uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kBinFloat = 'G',
  kProto = 0x80,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

// "BINGET (0x68)", or "unknown opcode 0xff" for a byte that is no pickle opcode.
std::string describe_opcode(std::uint8_t op);

// Reads a pickle held in memory. Running past the end is an mtst::Error, like any failure
// reported through fail(); both name the byte offset and the opcode being read.
class OpcodeReader {
 public:
  explicit OpcodeReader(std::string_view data) : data_(data) {}

  // Starts the next opcode and returns it; fails if the data has ended (no STOP was seen).
  std::uint8_t next_opcode();

  std::uint8_t u8() { return static_cast<std::uint8_t>(bytes(1)[0]); }
  // An n-byte (n <= 8) little-endian unsigned integer.
  std::uint64_t le(int n);
  // The next n bytes; n may be anything (an absurd length is an error, not an allocation).
  std::string_view bytes(std::uint64_t n);
  // Text up to the next newline, which is consumed (GLOBAL's arguments).
  std::string_view line();

  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::uint8_t op_ = 0;
};

}  // namespace mtst::pickle
