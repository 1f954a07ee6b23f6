// `mtst serve`: runs the HTTP server (src/serve) until SIGTERM or SIGINT, then lets in-flight
// requests finish. Prints "listening on HOST:PORT" (or "https://...") on stderr once the port
// is bound, and one warning when it listens beyond loopback without an API key.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/precision_option.h"
#include "mtst/error.h"
#include "mtst/ops/exec_plan.h"
#include "serve/server.h"

namespace mtst::cli {

namespace {

struct ServeArgs {
  serve::ServeOptions options;
  std::string model;
  std::string precision = "fp32";
  std::string device = "cpu";
  int threads = 0;
};

std::atomic<bool> stop_requested{false};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

extern "C" void request_stop(int) { stop_requested = true; }  // async-signal-safe: one store

void run_serve(ServeArgs& args) {
  auto options = args.options;
  options.model = args.model;
  options.exec = apply_exec_options(args.device, args.precision, args.threads);
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  if (!std::filesystem::is_directory(options.model)) {
    throw Error("--model " + options.model.string() + ": no such directory");
  }
  serve::Server server(options);
  const int port = server.bind();
  const bool tls = !options.tls_cert.empty();
  std::cerr << "mtst serve: listening on " << (tls ? "https://" : "") << options.host << ":" << port
            << std::endl;
  if (options.api_key.empty() && !is_loopback(options.host)) {
    std::cerr << "mtst serve: warning: listening on " << options.host
              << " without --api-key: anyone who can reach this port can use the model"
              << std::endl;
  }
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    while (!done) {
      if (stop_requested) {
        std::cerr << "mtst serve: stopping (in-flight requests finish)" << std::endl;
        server.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  try {
    server.run();
  } catch (...) {
    done = true;
    waiter.join();
    // A stop requested while the model loads may interrupt its reads: that is the stop the
    // user asked for, not a load failure.
    if (!stop_requested) throw;
    std::cerr << "mtst serve: stopped before the model was loaded" << std::endl;
    return;
  }
  done = true;
  waiter.join();
  std::cerr << "mtst serve: stopped" << std::endl;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("serve", "HTTP server: embeddings and multi-task predictions");
  cmd->option_defaults()->always_capture_default();
  cmd->add_option("--model", args->model, "Model directory (mtst train output, or any encoder)")
      ->required();
  cmd->add_option("--host", o.host, "Address to listen on");
  cmd->add_option("--port", o.port, "Port (0 = any free port, printed on stderr)");
  cmd->add_option("--max-batch-tokens", o.limits.max_batch_tokens, "Tokens per model batch")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-batch-requests", o.limits.max_batch_requests, "Requests per model batch")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-concurrent-requests", o.limits.max_concurrent_requests,
                  "Requests in flight before 429")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-client-batch-size", o.max_client_batch_size, "Inputs per request")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--payload-limit", o.payload_limit, "Largest request body in bytes (413 above)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--auto-truncate", o.auto_truncate,
                "Truncate inputs over the max length instead of answering 422");
  cmd->add_option("--http-threads", o.http_threads, "Connections served at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-pending-connections", o.max_pending_connections,
                  "Accepted connections waiting for an HTTP thread (more wait in the kernel)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--read-timeout", o.read_timeout_s, "Seconds a silent client is kept")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api-key", o.api_key,
                  "Every route but /health needs \"Authorization: Bearer KEY\" (401 without); "
                  "also read from MTST_API_KEY, which keeps the key out of `ps`")
      ->envname("MTST_API_KEY")
      ->always_capture_default(false);
  cmd->add_option("--tls-cert", o.tls_cert,
                  "HTTPS: the server's certificate (PEM; with --tls-key)");
  cmd->add_option("--tls-key", o.tls_key,
                  "HTTPS: the certificate's private key (PEM, unencrypted)");
  add_precision_option(cmd, args->precision, /*allow_auto=*/true);
  add_device_option(cmd, args->device);
  cmd->add_option("--threads", args->threads, "CPU threads for the model (0 = physical cores)");
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace mtst::cli
