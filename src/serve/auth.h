// The API key of `mtst serve --api-key`: whether a request's Authorization header carries it
// as a Bearer token (RFC 6750), compared in time that does not depend on where the two differ.
// Internal to src/serve.
#pragma once

#include <string>

namespace mtst::serve {

// True when A and B are equal; the time taken depends on A's length only, not on their bytes.
bool equal_in_constant_time(const std::string& a, const std::string& b);

// True when AUTHORIZATION is "Bearer <KEY>" (the scheme in any case, as RFC 7235 allows).
bool bearer_token_matches(const std::string& authorization, const std::string& key);

}  // namespace mtst::serve
