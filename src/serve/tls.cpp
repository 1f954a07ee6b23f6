// make_http_server (tls.h): httplib::Server, or httplib::SSLServer set up by mtst so that each
// way the certificate and key can be wrong gets its own message.
#include "serve/tls.h"

#include <fstream>
#include <string>

#include "mtst/error.h"

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

namespace mtst::serve {

namespace {

void require_readable(const std::filesystem::path& path, const std::string& option) {
  if (path.empty()) throw Error(option + " is needed too: HTTPS takes a certificate and its key");
  if (!std::filesystem::is_regular_file(path))
    throw Error(option + " " + path.string() + ": no such file");
  if (!std::ifstream(path).good()) throw Error(option + " " + path.string() + ": cannot read it");
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : "not a PEM file OpenSSL can use";
}
#endif

}  // namespace

std::unique_ptr<httplib::Server> make_http_server(const std::filesystem::path& cert,
                                                  const std::filesystem::path& key) {
  if (cert.empty() && key.empty()) return std::make_unique<httplib::Server>();
  require_readable(cert, "--tls-cert");
  require_readable(key, "--tls-key");
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  std::string problem;
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    ERR_clear_error();
    // No password prompt on the terminal for an encrypted key: it fails with a message instead.
    SSL_CTX_set_default_passwd_cb(&ctx, [](char*, int, int, void*) { return 0; });
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1) {
      problem = "--tls-cert " + cert.string() + ": not a certificate (" + openssl_reason() + ")";
    } else if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string reason = openssl_reason();
      problem = reason.find("mismatch") != std::string::npos
                    ? "--tls-key " + key.string() + " is not the key of --tls-cert " + cert.string()
                    : "--tls-key " + key.string() + ": not a usable private key (" + reason +
                          "; an encrypted key must be decrypted first)";
    } else if (SSL_CTX_check_private_key(&ctx) != 1) {
      problem = "--tls-key " + key.string() + " is not the key of --tls-cert " + cert.string();
    }
    return problem.empty();
  });
  if (!server->is_valid()) {
    throw Error(problem.empty() ? "cannot set up TLS with --tls-cert and --tls-key" : problem);
  }
  return server;
#else
  throw Error("--tls-cert: this build's cpp-httplib has no TLS (OpenSSL) support");
#endif
}

}  // namespace mtst::serve
