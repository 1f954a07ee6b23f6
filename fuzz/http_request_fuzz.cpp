// libFuzzer target: request bodies of every POST endpoint of `mtst serve`, sent over loopback to a
// real server in this process that serves the tiny-bert-st fixture (a model without heads, so a
// valid /predict is a 422). The input's first byte picks the endpoint, the rest is the body.
// Every answer must be well-formed JSON; an error must be a JSON {"error", "error_type"} with a
// 4xx/503 status. A 500, a dropped connection or a crash is a finding.
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "fuzz_util.h"
#include "serve/server.h"

namespace {

const char* const kEndpoints[] = {"/embed", "/v1/embeddings", "/predict", "/tokenize"};

// Starts the server once per fuzzing process and waits until /health says it is ready.
int server_port() {
  static const int port = [] {
    mtst::serve::ServeOptions options;
    options.model = std::filesystem::path(MTST_FIXTURES_DIR) / "tiny-bert-st";
    options.port = 0;
    options.http_threads = 4;
    options.exec.threads = 1;
    auto* server = new mtst::serve::Server(options);  // lives as long as the process
    const int bound = server->bind();
    std::thread([server] { server->run(); }).detach();
    httplib::Client health("127.0.0.1", bound);
    for (int i = 0; i < 600; ++i) {
      auto res = health.Get("/health");
      if (res && res->status == 200) return bound;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    mtst::fuzz::invariant_broken();  // not ready within 30 s
  }();
  return port;
}

bool well_formed(int status, const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return false;
  if (status == 200) return true;
  const bool client_error = (status >= 400 && status < 500) || status == 503;
  return client_error && json.is_object() && json.contains("error") && json["error"].is_string() &&
         json.contains("error_type") && json["error_type"].is_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static httplib::Client client("127.0.0.1", server_port());
  const char* endpoint = kEndpoints[data[0] % std::size(kEndpoints)];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto res = client.Post(endpoint, body, "application/json");
  if (!res || !well_formed(res->status, res->body)) mtst::fuzz::invariant_broken();
  return 0;
}
