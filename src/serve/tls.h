// The HTTP server object of `mtst serve`: plain HTTP, or HTTPS with a certificate and private
// key in PEM files (cpp-httplib's OpenSSL support, Debian's libssl). Internal to src/serve.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <memory>

namespace mtst::serve {

// Plain HTTP when both paths are empty; else HTTPS with CERT (a PEM certificate, or chain)
// and KEY (its PEM private key, unencrypted). Throws mtst::Error with one sentence when a file
// is missing or unreadable, is not PEM, or the key does not belong to the certificate.
std::unique_ptr<httplib::Server> make_http_server(const std::filesystem::path& cert,
                                                  const std::filesystem::path& key);

}  // namespace mtst::serve
