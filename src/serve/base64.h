// Base64 of float32 vectors, as OpenAI's embeddings API sends them with
// "encoding_format": "base64" (the little-endian bytes of each float32, which the `openai`
// package asks for by default). Encoded by OpenSSL. Internal to src/serve.
#pragma once

#include <cstdint>
#include <string>

namespace mtst::serve {

std::string base64_floats(const float* data, int64_t count);

}  // namespace mtst::serve
