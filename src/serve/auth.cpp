// Bearer-token check of `mtst serve --api-key` (auth.h).
#include "serve/auth.h"

#include <cctype>

namespace mtst::serve {

bool equal_in_constant_time(const std::string& a, const std::string& b) {
  // Every byte of A is compared (against B's bytes, cycled), whatever mismatches come first.
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  const size_t n = b.empty() ? 1 : b.size();
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char other = b.empty() ? 0 : static_cast<unsigned char>(b[i % n]);
    diff |= static_cast<unsigned char>(a[i]) ^ other;
  }
  return diff == 0;
}

bool bearer_token_matches(const std::string& authorization, const std::string& key) {
  const std::string scheme = "bearer ";
  if (key.empty() || authorization.size() <= scheme.size()) return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  }
  return equal_in_constant_time(authorization.substr(scheme.size()), key);
}

}  // namespace mtst::serve
