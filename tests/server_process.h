// A `mtst serve` child process for the server tests: started on a free port (--port 0), its
// port read from its "listening on" line, optionally waited for until /health answers;
// SIGTERM and reaped by stop() or the destructor. For HTTPS servers, client() trusts the
// certificate given.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "test_util.h"

namespace mtst::test {

class ServerProcess {
 public:
  // ARGS follow `mtst serve --port 0`; ENV ("NAME=value ...") is set for the server only;
  // READY: also wait until /health answers 200 (the model is loaded). CA_CERT: the server
  // speaks HTTPS, and client() trusts this certificate.
  explicit ServerProcess(const std::string& args, bool ready = true, const std::string& env = "",
                         const std::filesystem::path& ca_cert = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // A keep-alive client of the server (HTTPS when the server is).
  std::unique_ptr<httplib::Client> client() const;
  int port() const { return port_; }
  // SIGTERM, wait; returns the exit status (-1 if it did not exit normally).
  int stop();
  std::string log() const { return read_file(log_); }

 private:
  TempDir dir_;
  std::filesystem::path log_, ca_cert_;
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
};

}  // namespace mtst::test
