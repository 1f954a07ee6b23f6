// `mtst serve`: an HTTP server for a model directory, shaped like Hugging Face's
// text-embeddings-inference: /embed, /predict, /v1/embeddings (OpenAI shape), /tokenize,
// /health, /info, /metrics. HTTP threads parse, validate and tokenize; one model worker runs
// batches formed by a token budget (batch_queue.h). Errors are JSON {"error", "error_type"}.
// Optionally an API key (Bearer token, auth.h) and HTTPS (tls.h), as TEI has.
// Internal to src/serve.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "mtst/runtime/exec_options.h"
#include "serve/batch_queue.h"

namespace mtst::serve {

struct ServeOptions {
  std::filesystem::path model;
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (printed when listening)
  BatchLimits limits;
  size_t max_client_batch_size = 32;      // inputs per request
  size_t payload_limit = 2000000;         // bytes of request body
  bool auto_truncate = false;             // truncate long inputs unless the request says otherwise
  size_t http_threads = 128;              // connections served at once
  size_t max_pending_connections = 1024;  // accepted, waiting for a thread (connection_pool.h)
  int read_timeout_s = 5;                 // a client silent this long is dropped
  std::string api_key;  // when set, every route but /health needs "Authorization: Bearer KEY"
  std::filesystem::path tls_cert, tls_key;  // both set: HTTPS (tls.h)
  ExecOptions exec;
};

class Server {
 public:
  explicit Server(ServeOptions options);
  ~Server();
  // Binds the port (throws mtst::Error naming host:port on failure); returns the bound port.
  int bind();
  // Loads the model (requests get 503 until then), then serves until stop(). Blocks.
  void run();
  // Stops accepting; in-flight requests finish; run() returns. Safe from any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mtst::serve
