// The HTTP layer of `mtst serve` (see server.h): routes, validation, tokenization on the HTTP
// threads, the batching queue to the model worker, JSON answers, timing headers, metrics.
#include "serve/server.h"

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "mtst/error.h"
#include "mtst/model/pooling.h"
#include "mtst/model/predictor.h"
#include "ops/kernel_plan.h"
#include "serve/auth.h"
#include "serve/base64.h"
#include "serve/connection_pool.h"
#include "serve/metrics.h"
#include "serve/request_parsing.h"
#include "serve/tls.h"

namespace mtst::serve {

namespace {

using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr size_t kMaxPaddedTokensPerPass = 8192;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

// Every connection is a file descriptor: the soft limit (often 1024) would refuse clients long
// before the threads and queues do. Raised to the hard limit, as servers usually do.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
// library). A burst of more new connections than that, while the listener thread waits for a
// core, overflows the kernel's accept queue: the kernel then answers with SYN cookies, and a
// connection whose cookie fails is reset after the client has sent its request (measured:
// "Failed to read connection" at 16 clients under CPU load, one per TcpExtSyncookiesFailed).
// listen() again on the bound socket sets the backlog (Linux caps it at net.core.somaxconn).
constexpr size_t kMaxListenBacklog = 65535;  // the largest backlog Linux takes
void raise_listen_backlog(socket_t sock, size_t backlog) {
  if (sock == INVALID_SOCKET) return;
  const int n = static_cast<int>(std::min(backlog, kMaxListenBacklog));
  ::listen(sock, n < 16 ? 16 : n);
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Texts echoed back (error messages, OpenAI "model") may hold invalid UTF-8: replace it.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& type,
                const std::string& message) {
  send_json(res, status, {{"error", message}, {"error_type", type}});
}

// What one request's encoder work returns, with its timings.
struct Encoded {
  at::Tensor rows;  // head inputs [n, D]
  size_t tokens = 0;
  double tokenize_ms = 0, queue_ms = 0, inference_ms = 0;
};

}  // namespace

struct Server::Impl {
  ServeOptions options;
  std::unique_ptr<httplib::Server> http;
  ServerMetrics metrics;
  std::unique_ptr<Predictor> predictor;
  std::unique_ptr<BatchQueue> queue;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  int port = -1;
  socket_t listen_socket = INVALID_SOCKET;  // recorded by the socket-options callback

  // Token ids of each text, truncated by the tokenizer when TRUNCATE (keeping [SEP], as
  // everywhere else), else 422 for a text over the model's limit.
  std::vector<std::vector<int64_t>> tokenize(const std::vector<std::string>& texts,
                                             bool truncate) const {
    const size_t limit = predictor->info().max_seq_length;
    std::vector<std::vector<int64_t>> out;
    for (size_t i = 0; i < texts.size(); ++i) {
      bool cut = false;
      out.push_back(predictor->encoder().tokenize(texts[i], limit, &cut));
      if (cut && !truncate) {
        throw RequestError(422, "Validation",
                           "input " + std::to_string(i) + " has more than " +
                               std::to_string(limit) +
                               " tokens, the model's limit (send \"truncate\": true, or start "
                               "the server with --auto-truncate)");
      }
    }
    return out;
  }

  Encoded encode(const std::vector<std::string>& texts, bool truncate) {
    if (!ready) throw RequestError(503, "Unhealthy", "the model is not ready");
    Encoded e;
    const auto t0 = clock_type::now();
    auto ids = tokenize(texts, truncate);
    for (const auto& s : ids) e.tokens += s.size();
    e.tokenize_ms = ms_between(t0, clock_type::now());
    auto future = queue->submit(std::move(ids));
    if (!future) {
      if (stopping) throw RequestError(503, "Unhealthy", "the server is shutting down");
      throw RequestError(429, "Overloaded",
                         "too many requests in flight (--max-concurrent-requests " +
                             std::to_string(options.limits.max_concurrent_requests) + ")");
    }
    BatchResult r;
    try {
      r = future->get();
    } catch (const std::exception& ex) {
      throw RequestError(500, "Backend", std::string("inference failed: ") + ex.what());
    }
    e.rows = r.rows;
    e.queue_ms = r.queue_ms;
    e.inference_ms = r.inference_ms;
    return e;
  }

  // Wraps a handler: timing headers, JSON errors, metrics.
  template <typename Fn>
  httplib::Server::Handler route(const std::string& endpoint, Fn fn) {
    return [this, endpoint, fn](const httplib::Request& req, httplib::Response& res) {
      const auto start = clock_type::now();
      Encoded timing;
      if (!authorized(req, res)) {
        metrics.request(endpoint, res.status, 0.0);
        return;
      }
      try {
        fn(req, res, timing);
      } catch (const RequestError& e) {
        send_error(res, e.status, e.type, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, "Backend", e.what());
      }
      const double total = ms_between(start, clock_type::now());
      res.set_header("x-tokenization-time", ms_text(timing.tokenize_ms));
      res.set_header("x-queue-time", ms_text(timing.queue_ms));
      res.set_header("x-inference-time", ms_text(timing.inference_ms));
      res.set_header("x-total-time", ms_text(total));
      metrics.request(endpoint, res.status, total / 1000.0);
    };
  }

  json embeddings_json(const at::Tensor& rows, bool normalize) const {
    const auto out = (normalize ? l2_normalize(rows) : rows).contiguous();
    json list = json::array();
    const auto* data = out.data_ptr<float>();
    const int64_t d = out.size(1);
    for (int64_t i = 0; i < out.size(0); ++i) {
      list.push_back(std::vector<float>(data + i * d, data + (i + 1) * d));
    }
    return list;
  }

  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&, Encoded&);
  void post(const std::string& path, Handler handler) {
    http->Post(path, route(path, [this, handler](const httplib::Request& req,
                                                 httplib::Response& res, Encoded& timing) {
                 (this->*handler)(req, res, timing);
               }));
  }
  void get(const std::string& path, Handler handler) {
    http->Get(path, route(path, [this, handler](const httplib::Request& req, httplib::Response& res,
                                                Encoded& timing) {
                (this->*handler)(req, res, timing);
              }));
  }

  void add_routes() {
    post("/embed", &Impl::embed);
    post("/", &Impl::embed);  // TEI's route for the model's own task; InferenceClient posts here
    post("/v1/embeddings", &Impl::openai_embeddings);
    post("/predict", &Impl::predict);
    post("/tokenize", &Impl::tokenize_route);
    get("/health", &Impl::health);
    get("/info", &Impl::info);
    http->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return metrics.request("/metrics", res.status, 0.0);
      // The loader thread sets queue before ready (atomic): read it only once ready says so.
      const size_t depth = ready ? queue->queued() : 0;
      const size_t in_flight = ready ? queue->in_flight() : 0;
      res.set_content(metrics.render(depth, in_flight), "text/plain; version=0.0.4");
    });
    http->set_error_handler(
        [this](const httplib::Request& req, httplib::Response& res) { httplib_error(req, res); });
  }

  // With --api-key: every route but /health needs the key as a Bearer token, else 401 (JSON
  // error, counted in /metrics under the route, or "other" for a path that is none). The key
  // is never echoed or logged. Checked in the handlers, after httplib has read the request
  // body: a refusal before that (a pre-routing handler) left the body unread on a keep-alive
  // connection, where httplib 0.11 parsed it as the next request.
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty() || req.path == "/health") return true;
    const std::string header = req.get_header_value("Authorization");
    if (bearer_token_matches(header, options.api_key)) return true;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "Unauthorized",
               header.empty() ? "an API key is required: send the header "
                                "\"Authorization: Bearer <key>\""
                              : "wrong API key");
    return false;
  }

  // TEI's /embed.
  void embed(const httplib::Request& req, httplib::Response& res, Encoded& t) {
    const auto body = parse_body(req.body);
    const auto texts = read_inputs(body, "inputs", options.max_client_batch_size);
    const bool normalize = read_flag(body, "normalize", predictor_normalize());
    const bool truncate = read_flag(body, "truncate", options.auto_truncate);
    t = encode(texts, truncate);
    send_json(res, 200, embeddings_json(t.rows, normalize));
  }

  // OpenAI's /v1/embeddings: floats, or base64 of their float32 bytes (the `openai` package's
  // default).
  void openai_embeddings(const httplib::Request& req, httplib::Response& res, Encoded& t) {
    const auto body = parse_body(req.body);
    const auto texts = read_inputs(body, "input", options.max_client_batch_size);
    if (body.contains("model") && !body.at("model").is_string()) {
      throw RequestError(400, "InvalidRequest", "\"model\" must be a string");
    }
    const json format = body.value("encoding_format", json("float"));
    if (format != "float" && format != "base64") {
      throw RequestError(422, "Validation", "\"encoding_format\" must be \"float\" or \"base64\"");
    }
    t = encode(texts, options.auto_truncate);
    const auto rows = (predictor_normalize() ? l2_normalize(t.rows) : t.rows).contiguous();
    json data = json::array();
    for (int64_t i = 0; i < rows.size(0); ++i) {
      const float* row = rows.data_ptr<float>() + i * rows.size(1);
      const json embedding = format == "base64" ? json(base64_floats(row, rows.size(1)))
                                                : json(std::vector<float>(row, row + rows.size(1)));
      data.push_back({{"object", "embedding"}, {"embedding", embedding}, {"index", i}});
    }
    send_json(res, 200,
              {{"object", "list"},
               {"data", data},
               {"model", body.value("model", model_name())},
               {"usage", {{"prompt_tokens", t.tokens}, {"total_tokens", t.tokens}}}});
  }

  // /predict: every task's label, score and scores per input.
  void predict(const httplib::Request& req, httplib::Response& res, Encoded& t) {
    const auto body = parse_body(req.body);
    const auto texts = read_inputs(body, "inputs", options.max_client_batch_size);
    const bool truncate = read_flag(body, "truncate", options.auto_truncate);
    if (ready && predictor->info().tasks.empty()) {
      throw RequestError(422, "Validation",
                         "this model has no classification heads (serve a model trained by "
                         "`mtst train` for /predict)");
    }
    t = encode(texts, truncate);
    std::vector<at::Tensor> probs;
    for (const auto& logits : predictor->logits(t.rows)) {
      probs.push_back(at::softmax(logits, 1).contiguous());
    }
    json out = json::array();
    for (int64_t i = 0; i < t.rows.size(0); ++i) out.push_back(predictions_json(probs, i));
    send_json(res, 200, out);
  }

  json predictions_json(const std::vector<at::Tensor>& probs, int64_t row) const {
    const auto& tasks = predictor->info().tasks;
    json item = json::object();
    for (size_t k = 0; k < tasks.size(); ++k) {
      const auto* p = probs[k].data_ptr<float>() + row * probs[k].size(1);
      json scores = json::object();
      size_t best = 0;
      for (size_t c = 0; c < tasks[k].labels.size(); ++c) {
        scores[tasks[k].labels[c]] = p[c];
        if (p[c] > p[best]) best = c;
      }
      item[tasks[k].name] = {
          {"label", tasks[k].labels[best]}, {"score", p[best]}, {"scores", scores}};
    }
    return item;
  }

  // TEI's /tokenize (no truncation: the tokens of the whole text).
  void tokenize_route(const httplib::Request& req, httplib::Response& res, Encoded&) {
    const auto body = parse_body(req.body);
    const auto texts = read_inputs(body, "inputs", options.max_client_batch_size);
    if (!ready) throw RequestError(503, "Unhealthy", "the model is not ready");
    const auto& tokenizer = predictor->encoder().tokenizer();
    json out = json::array();
    for (const auto& text : texts) {
      json tokens = json::array();
      for (int64_t id : predictor->encoder().tokenize(text, 0)) {
        tokens.push_back({{"id", id},
                          {"text", tokenizer.id_to_token(id)},
                          {"special", id == tokenizer.cls_id() || id == tokenizer.sep_id()}});
      }
      out.push_back(tokens);
    }
    send_json(res, 200, out);
  }

  void health(const httplib::Request&, httplib::Response& res, Encoded&) {
    if (!ready) throw RequestError(503, "Unhealthy", "the model is not ready");
    send_json(res, 200, {{"status", "ok"}});
  }

  void info(const httplib::Request&, httplib::Response& res, Encoded&) {
    if (!ready) throw RequestError(503, "Unhealthy", "the model is not ready");
    const auto& info = predictor->info();
    json tasks = json::array();
    for (const auto& t : info.tasks) tasks.push_back({{"name", t.name}, {"labels", t.labels}});
    json pooling = json::array();
    for (auto m : info.pooling) pooling.push_back(pooling_mode_name(m));
    send_json(res, 200,
              {{"model_id", model_name()},
               {"model_dir", options.model.string()},
               {"version", MTST_VERSION},
               {"tasks", tasks},
               {"embedding_dim", predictor->encoder().embedding_dim(info.pooling)},
               {"pooling", pooling},
               {"normalize", info.normalize},
               {"max_input_length", info.max_seq_length},
               {"max_batch_tokens", options.limits.max_batch_tokens},
               {"max_batch_requests", options.limits.max_batch_requests},
               {"max_concurrent_requests", options.limits.max_concurrent_requests},
               {"max_client_batch_size", options.max_client_batch_size},
               {"payload_limit", options.payload_limit},
               {"http_threads", options.http_threads},
               {"max_pending_connections", options.max_pending_connections},
               {"auto_truncate", options.auto_truncate},
               {"precision", precision_name(options.exec.precision)},
               {"kernels", kernel_plan(options.exec.precision, options.exec.device).describe()},
               {"threads", options.exec.threads}});
  }

  // httplib's own refusals (413 body too large, 404, 400 bad HTTP) as JSON errors; with
  // --api-key, a request without the key learns nothing of which paths exist (401).
  void httplib_error(const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && !authorized(req, res)) {
      metrics.request("other", res.status, 0.0);
      return;
    }
    if (!res.body.empty()) return;
    const std::string type = res.status == 413   ? "PayloadTooLarge"
                             : res.status == 404 ? "NotFound"
                                                 : "InvalidRequest";
    const std::string message = res.status == 413   ? "request body too large (--payload-limit)"
                                : res.status == 404 ? "no such endpoint"
                                                    : "bad HTTP request";
    send_error(res, res.status, type, message);
  }

  bool predictor_normalize() const { return ready && predictor->info().normalize; }
  std::string model_name() const { return options.model.filename().string(); }
};

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->http = make_http_server(impl_->options.tls_cert, impl_->options.tls_key);
  auto& http = *impl_->http;
  const size_t threads = impl_->options.http_threads;
  const size_t pending = impl_->options.max_pending_connections;
  http.new_task_queue = [threads, pending] { return new ConnectionPool(threads, pending); };
  raise_open_file_limit();
  http.set_payload_max_length(impl_->options.payload_limit);
  http.set_keep_alive_max_count(1000);
  http.set_tcp_nodelay(true);  // small JSON answers: no Nagle / delayed-ACK stalls
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind a port that one
  // already listens on (the kernel then splits connections between them): SO_REUSEADDR only,
  // so a taken port is an error while a restart still binds through TIME_WAIT.
  // The callback runs for the listening socket only; bind() raises that socket's backlog.
  http.set_socket_options([impl = impl_.get()](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_socket = sock;
  });
  http.set_read_timeout(impl_->options.read_timeout_s, 0);
  http.set_write_timeout(impl_->options.read_timeout_s, 0);
  impl_->add_routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  auto& s = *impl_;
  s.port = s.options.port == 0
               ? s.http->bind_to_any_port(s.options.host)
               : (s.http->bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (s.port < 0) {
    throw Error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                " (is the port taken, e.g. by another mtst serve?)");
  }
  raise_listen_backlog(s.listen_socket, s.options.max_pending_connections);
  return s.port;
}

void Server::run() {
  auto& s = *impl_;
  std::atomic<bool> listener_done{false};
  std::thread listener([&s, &listener_done] {
    s.http->listen_after_bind();
    listener_done = true;
  });
  // httplib's stop() does nothing before the listener runs: wait for it, so that a stop (a
  // failed load, a signal) always ends the listener instead of leaving join() to hang.
  while (!s.http->is_running() && !listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (s.stopping) s.http->stop();  // a stop() that came before the listener ran
  try {
    s.predictor =
        std::make_unique<Predictor>(Predictor::load(s.options.model, s.options.exec, true));
    const Predictor* predictor = s.predictor.get();
    s.queue = std::make_unique<BatchQueue>(
        s.options.limits,
        [predictor](const std::vector<std::vector<int64_t>>& ids) {
          // The whole batch at once: the encoder packs it (padding costs nothing in its
          // products) and cuts it into one pass per core. The cap bounds the padded
          // [sentences x longest] tensors around the packed layers.
          return predictor->head_inputs_ids(ids, ids.size(), kMaxPaddedTokensPerPass);
        },
        [&s](const BatchStats& b) { s.metrics.batch(b.requests, b.tokens); });
    if (!s.stopping) s.ready = true;
  } catch (...) {
    s.http->stop();
    listener.join();
    throw;
  }
  listener.join();
  // Answer everything the queue accepted before the worker stops.
  if (s.queue) s.queue->shutdown();
  s.queue.reset();
}

void Server::stop() {
  // New requests get 503; the listener stops; handlers already waiting on the queue get their
  // answers (run() shuts the queue down only after every HTTP thread has finished).
  auto& s = *impl_;
  s.stopping = true;
  s.ready = false;
  s.http->stop();
}

}  // namespace mtst::serve
