// `mtst bench serve`: a closed-loop load test of a running `mtst serve` over HTTP. N clients
// each send one single-sentence request after another (sentences taken round-robin from a
// file) for a fixed time; prints one JSON line: requests/s, status counts and latency
// percentiles. Bounded in time and count; loopback or any reachable host; with --api-key for a
// server that has one.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"

namespace mtst::cli {

namespace {

struct BenchServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string endpoint = "/embed";
  std::string input;
  int clients = 64;
  double seconds = 30;
  size_t max_requests = 1000000;
  std::string api_key;  // sent as a Bearer token when set
};

// One client's keep-alive connection, opened (GET /health, retried) before the clock starts;
// RETRIES counts the attempts that got no 200.
std::unique_ptr<httplib::Client> connect(const BenchServeArgs& args, std::atomic<int>& retries) {
  auto client = std::make_unique<httplib::Client>(args.host, args.port);
  client->set_read_timeout(60, 0);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  if (!args.api_key.empty()) client->set_bearer_token_auth(args.api_key);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = client->Get("/health");
    if (r && r->status == 200) break;
    ++retries;
  }
  return client;
}

void run_bench_serve(const BenchServeArgs& args) {
  const auto texts = read_texts(args.input);
  if (texts.empty()) throw Error("bench serve: " + args.input + " holds no sentences");
  const std::string field = args.endpoint == "/v1/embeddings" ? "input" : "inputs";
  std::mutex mutex;
  std::vector<double> latencies;
  std::map<std::string, size_t> statuses;
  std::atomic<size_t> next{0};
  using clock = std::chrono::steady_clock;
  // Every client opens its connection (GET /health, retried) before the clock starts, so the
  // measurement is the steady state, not the connection storm of 64 clients at once.
  std::atomic<int> connected{0}, connect_retries{0};
  std::atomic<bool> go{false};
  clock::time_point start, deadline;
  std::vector<std::thread> threads;
  for (int c = 0; c < args.clients; ++c) {
    threads.emplace_back([&] {
      const auto client = connect(args, connect_retries);
      ++connected;
      while (!go) std::this_thread::yield();
      std::vector<double> mine;
      std::map<std::string, size_t> codes;
      while (clock::now() < deadline) {
        const size_t i = next++;
        if (i >= args.max_requests) break;
        const std::string body = nlohmann::json{{field, texts[i % texts.size()]}}.dump();
        const auto t0 = clock::now();
        auto r = client->Post(args.endpoint.c_str(), body, "application/json");
        mine.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
        if (r) {
          ++codes[std::to_string(r->status)];
        } else {
          ++codes["error: " + httplib::to_string(r.error())];  // no response
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [code, n] : codes) statuses[code] += n;
    });
  }
  while (connected < args.clients) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  start = clock::now();
  deadline = start + std::chrono::duration_cast<clock::duration>(
                         std::chrono::duration<double>(args.seconds));
  go = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    if (latencies.empty()) return 0.0;
    const auto k = static_cast<size_t>(p * static_cast<double>(latencies.size() - 1));
    return latencies[k];
  };
  nlohmann::json codes = nlohmann::json::object();
  for (const auto& [code, n] : statuses) codes[code] = n;
  const size_t ok = statuses.count("200") ? statuses.at("200") : 0;
  std::cout << nlohmann::json{{"bench", "serve"},
                              {"endpoint", args.endpoint},
                              {"clients", args.clients},
                              {"seconds", elapsed},
                              {"requests", latencies.size()},
                              {"statuses", codes},
                              {"connect_retries", connect_retries.load()},
                              {"ok_per_s", static_cast<double>(ok) / elapsed},
                              {"p50_ms", percentile(0.50)},
                              {"p90_ms", percentile(0.90)},
                              {"p99_ms", percentile(0.99)}}
                   .dump()
            << std::endl;
}

}  // namespace

void add_bench_serve_command(CLI::App& bench) {
  auto args = std::make_shared<BenchServeArgs>();
  auto* cmd = bench.add_subcommand("serve", "Load test of a running mtst serve (closed loop)");
  cmd->option_defaults()->always_capture_default();
  cmd->add_option("--host", args->host, "Server address");
  cmd->add_option("--port", args->port, "Server port");
  cmd->add_option("--endpoint", args->endpoint, "/embed | /predict | /v1/embeddings")
      ->check(CLI::IsMember({"/embed", "/predict", "/v1/embeddings"}));
  cmd->add_option("--input", args->input, "Sentences to send (text lines or .jsonl)")->required();
  cmd->add_option("--clients", args->clients, "Concurrent clients")->check(CLI::Range(1, 1024));
  cmd->add_option("--seconds", args->seconds, "Duration")->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--max-requests", args->max_requests, "Stop after this many requests");
  cmd->add_option("--api-key", args->api_key,
                  "Send \"Authorization: Bearer KEY\" (a server with --api-key); also read from "
                  "MTST_API_KEY")
      ->envname("MTST_API_KEY")
      ->always_capture_default(false);
  cmd->callback([args] { run_bench_serve(*args); });
}

}  // namespace mtst::cli
