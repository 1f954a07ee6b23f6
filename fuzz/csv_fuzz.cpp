// libFuzzer target: the CSV reader of the training data on arbitrary bytes (quotes, CRLF, NUL,
// unterminated fields). It must return records or throw mtst::Error.
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_util.h"
#include "mtst/error.h"
#include "mtst/io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    mtst::read_csv(in, "fuzz.csv");
  } catch (const mtst::Error&) {
  }
  return 0;
}
