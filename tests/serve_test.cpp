// `mtst serve` as a real process on 127.0.0.1: every endpoint's happy path and error codes,
// answers equal to `mtst encode` / `mtst tokenize` / `mtst predict`, the bad-input sweep
// (invalid UTF-8, huge and deeply nested bodies, wrong types, 10k inputs, empty strings, a
// client that stalls mid-body) with the server serving others meanwhile, 429 under load, and
// a clean stop on SIGTERM, 503 while the model loads; on a GPU (when present), /embed against
// the CPU's `mtst encode`.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mtst/runtime/exec_options.h"
#include "server_process.h"
#include "test_util.h"

namespace mtst {
namespace {

using json = nlohmann::json;
using test::fixtures;
using test::run_mtst;
using test::ServerProcess;
using test::TempDir;

std::string q(const std::filesystem::path& p) { return test::quoted(p); }

// The answer to a POST; no answer at all (the server died) fails the test with an exception
// rather than a null dereference in the caller.
httplib::Result post(const ServerProcess& s, const std::string& path, const std::string& body) {
  auto r = s.client()->Post(path.c_str(), body, "application/json");
  if (!r)
    throw std::runtime_error("no answer to POST " + path + ": " + httplib::to_string(r.error()));
  return r;
}

void expect_error(const httplib::Result& r, int status, const std::string& type) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const auto j = json::parse(r->body);
  EXPECT_EQ(j.at("error_type"), type) << r->body;
  EXPECT_FALSE(j.at("error").get<std::string>().empty());
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// /embed's rows GOT against `mtst encode`'s JSON lines WANT, element by element.
void expect_same_embeddings(const json& got, const std::vector<json>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& w = want[i].contains("embedding") ? want[i]["embedding"] : want[i];
    ASSERT_EQ(got[i].size(), w.size());
    for (size_t k = 0; k < w.size(); ++k) {
      EXPECT_NEAR(got[i][k].get<double>(), w[k].get<double>(), tolerance) << i << "," << k;
    }
  }
}

class EncoderServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess("--model " + q(fixtures() / "tiny-bert-st") +
                                " --payload-limit 200000 --read-timeout 1");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    EXPECT_NE(server_->log().find("stopped"), std::string::npos) << server_->log();
    delete server_;
  }
  static ServerProcess* server_;
};
ServerProcess* EncoderServer::server_ = nullptr;

TEST_F(EncoderServer, EmbedEqualsMtstEncode) {
  const std::vector<std::string> texts = {"Hello world!", "A second, longer sentence here.", ""};
  auto r = post(*server_, "/embed", json{{"inputs", texts}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (const char* h :
       {"x-total-time", "x-queue-time", "x-inference-time", "x-tokenization-time"}) {
    EXPECT_TRUE(r->has_header(h)) << h;
  }
  const auto got = json::parse(r->body);
  const auto want = json_lines(run_mtst("encode --model " + q(fixtures() / "tiny-bert-st"),
                                        "Hello world!\nA second, longer sentence here.\n\n")
                                   .out);
  ASSERT_EQ(got.size(), 3u);
  expect_same_embeddings(got, want, 1e-5);
  // A single string is one input; normalize=false differs from the model's default.
  r = post(*server_, "/embed", R"({"inputs": "Hello world!", "normalize": false})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body).size(), 1u);
}

TEST_F(EncoderServer, OpenAiEmbeddingsTokenizeInfoHealthMetrics) {
  auto r = post(*server_, "/v1/embeddings", R"({"input": ["a b", "c"], "model": "x"})");
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "x");
  EXPECT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 4 + 3);  // [CLS] a b [SEP], [CLS] c [SEP]

  r = post(*server_, "/tokenize", R"({"inputs": "Hello world!"})");
  ASSERT_EQ(r->status, 200) << r->body;
  const auto want = json_lines(
      run_mtst("tokenize --model " + q(fixtures() / "tiny-bert-st"), "Hello world!\n").out)[0];
  j = json::parse(r->body)[0];
  ASSERT_EQ(j.size(), want["ids"].size());
  for (size_t i = 0; i < j.size(); ++i) EXPECT_EQ(j[i]["id"], want["ids"][i]);
  EXPECT_TRUE(j[0]["special"].get<bool>());

  r = server_->client()->Get("/info");
  ASSERT_EQ(r->status, 200);
  j = json::parse(r->body);
  EXPECT_EQ(j["embedding_dim"], 32);
  EXPECT_EQ(j["max_client_batch_size"], 32);
  EXPECT_TRUE(j["tasks"].empty());
  EXPECT_EQ(server_->client()->Get("/health")->status, 200);

  r = server_->client()->Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("mtst_requests_total{endpoint=\"/v1/embeddings\",status=\"200\"} "),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("mtst_batch_tokens_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(r->body.find("mtst_queue_depth 0"), std::string::npos);
}

TEST_F(EncoderServer, BadInputsGetTheRightStatus) {
  expect_error(post(*server_, "/embed", "{not json"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", R"({"inputs": 5})"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", R"({"inputs": ["a", 5]})"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", R"({"inputs": "a", "normalize": "yes"})"), 400,
               "InvalidRequest");
  expect_error(post(*server_, "/embed", R"({"text": "a"})"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", "[\"a\"]"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", "{\"inputs\": \"ab\xff\xfe\"}"), 400, "InvalidRequest");
  expect_error(post(*server_, "/embed", std::string(5000, '[') + std::string(5000, ']')), 400,
               "InvalidRequest");
  expect_error(post(*server_, "/embed", R"({"inputs": []})"), 422, "Validation");
  json many = {{"inputs", std::vector<std::string>(10000, "a")}};
  expect_error(post(*server_, "/embed", many.dump()), 422, "Validation");
  expect_error(post(*server_, "/embed", json{{"inputs", std::string(300000, 'a')}}.dump()), 413,
               "PayloadTooLarge");
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "word ";
  expect_error(post(*server_, "/embed", json{{"inputs", long_text}}.dump()), 422, "Validation");
  auto r = post(*server_, "/embed", json{{"inputs", long_text}, {"truncate", true}}.dump());
  EXPECT_EQ(r->status, 200) << r->body;
  r = post(*server_, "/embed", R"({"inputs": ["", ""]})");
  EXPECT_EQ(r->status, 200) << r->body;
  expect_error(post(*server_, "/predict", R"({"inputs": "a"})"), 422, "Validation");
  expect_error(server_->client()->Get("/nowhere"), 404, "NotFound");
  EXPECT_EQ(server_->client()->Get("/health")->status, 200);  // still serving
}

TEST_F(EncoderServer, AStalledClientDoesNotBlockOthers) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string head =
      "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"inputs\": ";
  ASSERT_EQ(send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  // Meanwhile others are served.
  const auto t0 = std::chrono::steady_clock::now();
  auto r = post(*server_, "/embed", R"({"inputs": "still here"})");
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  // The stalled connection is dropped after the read timeout (1 s): recv sees the close.
  timeval wait{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char buf[512];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  EXPECT_GE(n, 0);  // 0 = closed, > 0 = an error response; not a timeout (-1)
  close(fd);
}

// Copies the tiny-bert-st fixture to MODEL with modules.json replaced by a FIFO, so loading
// the model blocks until someone writes it. Returns the real modules.json ("" on failure).
std::string copy_with_fifo_modules(const std::filesystem::path& model) {
  std::filesystem::copy(fixtures() / "tiny-bert-st", model,
                        std::filesystem::copy_options::recursive);
  const std::string modules = test::read_file(model / "modules.json");
  std::filesystem::remove(model / "modules.json");
  return mkfifo((model / "modules.json").c_str(), 0600) == 0 ? modules : "";
}

TEST(ServerGpu, EmbedOnTheGpuEqualsMtstEncodeOnTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device here";
  ServerProcess server("--device cuda --model " + q(fixtures() / "tiny-bert-st"));
  const std::vector<std::string> texts = {"Hello world!", "A second, longer sentence here."};
  auto r = post(server, "/embed", json{{"inputs", texts}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto got = json::parse(r->body);
  const auto want = json_lines(
      run_mtst("encode --model " + q(fixtures() / "tiny-bert-st"), texts[0] + "\n" + texts[1]).out);
  ASSERT_EQ(got.size(), 2u);
  expect_same_embeddings(got, want, 1e-4);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(ServerNotReady, AnswersWith503UntilTheModelHasLoaded) {
  // The model's modules.json is a FIFO: loading blocks on it until the test writes it, so the
  // window between "listening" and "ready" is held open for as long as the test needs.
  TempDir dir;
  const auto model = dir / "model";
  const std::string modules = copy_with_fifo_modules(model);
  ASSERT_FALSE(modules.empty());
  ServerProcess server("--model " + q(model), false);
  ASSERT_GT(server.port(), 0) << server.log();
  expect_error(server.client()->Get("/health"), 503, "Unhealthy");
  expect_error(server.client()->Get("/info"), 503, "Unhealthy");
  expect_error(post(server, "/embed", R"({"inputs": "not yet"})"), 503, "Unhealthy");
  expect_error(post(server, "/v1/embeddings", R"({"input": "not yet"})"), 503, "Unhealthy");
  expect_error(post(server, "/predict", R"({"inputs": "not yet"})"), 503, "Unhealthy");
  expect_error(post(server, "/tokenize", R"({"inputs": "not yet"})"), 503, "Unhealthy");
  auto metrics = server.client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find(R"(status="503")"), std::string::npos) << metrics->body;
  { std::ofstream(model / "modules.json") << modules; }  // unblocks the load
  int status = 0;
  for (int i = 0; i < 600 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = server.client()->Get("/health");
    status = r ? r->status : 0;
  }
  EXPECT_EQ(status, 200) << server.log();
  auto r = post(server, "/embed", R"({"inputs": "now ready"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(ServerNotReady, StopsCleanlyOnSigtermWhileTheModelLoads) {
  TempDir dir;
  const auto model = dir / "model";
  ASSERT_FALSE(copy_with_fifo_modules(model).empty());  // the FIFO is never written: load blocks
  ServerProcess server("--model " + q(model), false);
  ASSERT_GT(server.port(), 0) << server.log();
  expect_error(server.client()->Get("/health"), 503, "Unhealthy");
  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_NE(server.log().find("stopped before the model was loaded"), std::string::npos)
      << server.log();
}

TEST(ServerStartup, ATakenPortIsAnErrorNotASharedPort) {
  ServerProcess first("--model " + q(fixtures() / "tiny-bert-st"));
  ASSERT_GT(first.port(), 0) << first.log();
  TempDir dir;
  const auto log = dir / "stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = std::string("exec '") + MTST_BINARY + "' serve --port " +
                            std::to_string(first.port()) + " --model " +
                            q(fixtures() / "tiny-bert-st") + " 2>'" + log.string() + "'";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // It must give up by itself: a second server on the port would serve half the requests.
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 400 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(exited) << "a second server started on the taken port: " << test::read_file(log);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(test::read_file(log),
            "mtst: error: cannot listen on 127.0.0.1:" + std::to_string(first.port()) +
                " (is the port taken, e.g. by another mtst serve?)\n");
  auto r = first.client()->Get("/health");  // the first one still serves
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ServerStartup, MissingModelDirectoryExitsWithOneMessage) {
  const auto r = run_mtst("serve --port 0 --model /nonexistent/model");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "mtst: error: --model /nonexistent/model: no such directory\n");
}

TEST(ServerStartup, UnloadableModelExitsInsteadOfHanging) {
  TempDir dir;  // exists, but holds no model: the load fails once the listener runs
  for (int i = 0; i < 5; ++i) {
    const auto r = run_mtst("serve --port 0 --model " + q(dir.path()));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(dir.path().string()), std::string::npos) << r.err;
  }
}

TEST(ServerLoad, QueueFullIsA429AndNothingElseFails) {
  ServerProcess server("--model " + q(fixtures() / "tiny-bert-st") +
                       " --max-concurrent-requests 1 --max-batch-requests 1");
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> clients;
  const json body = {{"inputs", std::vector<std::string>(32, "a fairly ordinary sentence")}};
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&] {
      auto client = server.client();
      for (int i = 0; i < 10; ++i) {
        auto r = client->Post("/embed", body.dump(), "application/json");
        if (r && r->status == 200) {
          ++ok;
        } else if (r && r->status == 429) {
          ++busy;
          EXPECT_EQ(json::parse(r->body)["error_type"], "Overloaded");
        } else {
          ++other;
          ADD_FAILURE() << "status " << (r ? r->status : 0) << " error "
                        << httplib::to_string(r.error()) << (r ? r->body : "");
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(busy.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServerLoad, ABurstOfNewConnectionsIsAnsweredEveryOne) {
  // 200 clients connect at once, each on a new connection. With httplib's own listen backlog
  // of 5 the kernel's accept queue overflowed and it reset about a third of them after they
  // had sent their request ("Failed to read connection"); the server raises the backlog.
  ServerProcess server("--model " + q(fixtures() / "tiny-bert-st"));
  std::atomic<int> ok{0};
  for (int round = 0; round < 5; ++round) {
    std::atomic<bool> go{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 200; ++c) {
      clients.emplace_back([&] {
        while (!go) std::this_thread::yield();
        httplib::Client client("127.0.0.1", server.port());
        client.set_read_timeout(30, 0);
        auto r = client.Get("/health");
        if (r && r->status == 200) {
          ++ok;
        } else {
          ADD_FAILURE() << "status " << (r ? r->status : 0) << " error "
                        << httplib::to_string(r.error());
        }
      });
    }
    go = true;
    for (auto& t : clients) t.join();
  }
  EXPECT_EQ(ok.load(), 1000);
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServerPredict, MultiTaskAnswersEqualMtstPredict) {
  TempDir tmp;
  auto config = test::tiny_train_config();
  config["training"]["max_steps"] = 3;
  test::write_file(tmp / "config.json", config.dump());
  ASSERT_EQ(
      run_mtst("train --quiet --config " + q(tmp / "config.json") + " --output " + q(tmp / "run"))
          .exit_code,
      0);
  const auto model = tmp / "run" / "final";
  ServerProcess server("--model " + q(model));
  const std::vector<std::string> texts = {"Close the door.", "Is it raining?", "I love it!"};
  auto r = post(server, "/predict", json{{"inputs", texts}}.dump());
  ASSERT_EQ(r->status, 200) << r->body;
  const auto got = json::parse(r->body);
  const auto want = json_lines(run_mtst("predict --format jsonl --model " + q(model),
                                        "Close the door.\nIs it raining?\nI love it!\n")
                                   .out);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    for (const char* t : {"category", "sentiment"}) {
      EXPECT_EQ(got[i][t]["label"], want[i][t]["label"]);
      for (const auto& [label, p] : want[i][t]["scores"].items()) {
        EXPECT_NEAR(got[i][t]["scores"][label].get<double>(), p.get<double>(), 1e-5);
      }
      EXPECT_EQ(got[i][t]["score"], got[i][t]["scores"][got[i][t]["label"].get<std::string>()]);
    }
  }
  r = server.client()->Get("/info");
  EXPECT_EQ(json::parse(r->body)["tasks"][1]["labels"][0], "negative");
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace mtst
