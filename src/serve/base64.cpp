// base64_floats (base64.h) by OpenSSL's EVP_EncodeBlock.
#include "serve/base64.h"

#include <openssl/evp.h>

#include <cstring>
#include <vector>

namespace mtst::serve {

std::string base64_floats(const float* data, int64_t count) {
  static_assert(sizeof(float) == 4, "float32");
  const size_t bytes = static_cast<size_t>(count) * sizeof(float);
  std::vector<unsigned char> raw(bytes);
  if (bytes > 0) std::memcpy(raw.data(), data, bytes);  // x86-64: already little-endian
  std::string out(4 * ((bytes + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), raw.data(),
                                static_cast<int>(bytes));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace mtst::serve
