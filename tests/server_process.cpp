// ServerProcess (server_process.h).
#include "server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace mtst::test {

ServerProcess::ServerProcess(const std::string& args, bool ready, const std::string& env,
                             const std::filesystem::path& ca_cert)
    : ca_cert_(ca_cert) {
  log_ = dir_ / "stderr";
  pid_ = fork();
  if (pid_ == 0) {
    const std::string cmd = "exec env " + env + " '" + MTST_BINARY + "' serve --port 0 " + args +
                            " 2>'" + log_.string() + "'";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for "listening on [https://]HOST:PORT\n", then for /health.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
    const auto text = log();
    const auto line = text.find("listening on ");
    const auto end = line == std::string::npos ? line : text.find('\n', line);
    if (end != std::string::npos) port_ = std::stoi(text.substr(text.rfind(':', end) + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  while (ready && port_ != 0 && std::chrono::steady_clock::now() < deadline) {
    auto r = client()->Get("/health");
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ServerProcess::~ServerProcess() { stop(); }

std::unique_ptr<httplib::Client> ServerProcess::client() const {
  const std::string scheme = ca_cert_.empty() ? "http://" : "https://";
  auto c = std::make_unique<httplib::Client>(scheme + "127.0.0.1:" + std::to_string(port_));
  if (!ca_cert_.empty()) c->set_ca_cert_path(ca_cert_.c_str());
  c->set_read_timeout(30, 0);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  return c;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return status_;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return status_;
}

}  // namespace mtst::test
