// `mtst serve --api-key` and `--tls-cert/--tls-key` as a real process: every route but /health
// needs the key (401 in the usual JSON error shape otherwise, counted in /metrics, the key in
// no log line), the key from MTST_API_KEY, 1,000 wrong keys from 64 clients all answered 401,
// the warning for a server beyond loopback without a key; HTTPS with a self-signed certificate
// made here by openssl answers as HTTP does, a plain-HTTP client does not stop it, and every
// bad certificate or key file is one error line at start.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "server_process.h"
#include "test_util.h"

namespace mtst {
namespace {

using json = nlohmann::json;
using test::ServerProcess;
using test::TempDir;

const std::string kKey = "k3y-Of-the-test-5e1f";

std::string model_args() { return "--model " + test::quoted(test::fixtures() / "tiny-bert-st"); }

httplib::Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

// The status of REQUEST (GET or POST PATH with a small valid body) sent with HEADERS.
httplib::Result send(const ServerProcess& s, const std::string& method, const std::string& path,
                     const httplib::Headers& headers) {
  auto c = s.client();
  if (method == "GET") return c->Get(path.c_str(), headers);
  return c->Post(path.c_str(), headers, R"({"inputs": "hi", "input": "hi"})", "application/json");
}

void expect_unauthorized(const httplib::Result& r, const std::string& what) {
  ASSERT_TRUE(r) << what << ": no answer";
  EXPECT_EQ(r->status, 401) << what << ": " << r->body;
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer") << what;
  const auto body = json::parse(r->body);
  EXPECT_EQ(body.at("error_type"), "Unauthorized") << what;
  EXPECT_FALSE(body.at("error").get<std::string>().empty()) << what;
}

struct Route {
  std::string method, path;
  int status_with_key;
};
const std::vector<Route> kRoutes = {
    {"POST", "/embed", 200},    {"POST", "/", 200},        {"POST", "/v1/embeddings", 200},
    {"POST", "/tokenize", 200}, {"POST", "/predict", 422},  // the fixture has no heads
    {"GET", "/info", 200},      {"GET", "/metrics", 200},  {"GET", "/nowhere", 404}};

TEST(ServerAuth, EveryRouteButHealthNeedsTheKey) {
  ServerProcess server(model_args() + " --api-key " + kKey);
  ASSERT_GT(server.port(), 0) << server.log();
  ASSERT_EQ(send(server, "GET", "/health", {})->status, 200);
  for (const auto& route : kRoutes) {
    const std::string what = route.method + " " + route.path;
    expect_unauthorized(send(server, route.method, route.path, {}), what + " without a key");
    expect_unauthorized(send(server, route.method, route.path, bearer(kKey + "x")),
                        what + " with a wrong key");
    expect_unauthorized(send(server, route.method, route.path, {{"Authorization", kKey}}),
                        what + " without the Bearer scheme");
    auto r = send(server, route.method, route.path, bearer(kKey));
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, route.status_with_key) << what << ": " << r->body;
  }
  const auto metrics = send(server, "GET", "/metrics", bearer(kKey))->body;
  EXPECT_NE(metrics.find("mtst_requests_total{endpoint=\"/embed\",status=\"401\"} 3"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mtst_requests_total{endpoint=\"other\",status=\"401\"} 3"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(server.log().find(kKey), std::string::npos) << server.log();
}

TEST(ServerAuth, KeyFromTheEnvironment) {
  ServerProcess server(model_args(), true, "MTST_API_KEY=" + kKey);
  expect_unauthorized(send(server, "POST", "/embed", {}), "no key");
  EXPECT_EQ(send(server, "POST", "/embed", bearer(kKey))->status, 200);
  EXPECT_EQ(send(server, "POST", "/embed", {{"Authorization", "bearer " + kKey}})->status, 200);
}

TEST(ServerAuth, AThousandWrongKeysFrom64ClientsAreAll401) {
  ServerProcess server(model_args() + " --api-key " + kKey);
  std::atomic<int> unauthorized{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 64; ++c) {
    clients.emplace_back([&, c] {
      auto client = server.client();
      for (int i = 0; i < 16 && 16 * c + i < 1000; ++i) {
        auto r = client->Post("/embed", bearer("wrong-" + std::to_string(i)), R"({"inputs": "hi"})",
                              "application/json");
        if (r && r->status == 401) {
          ++unauthorized;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(unauthorized.load(), 1000);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(send(server, "POST", "/embed", bearer(kKey))->status, 200);  // still serving
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(server.log().find(kKey), std::string::npos) << server.log();
  EXPECT_EQ(server.log().find("wrong-"), std::string::npos) << server.log();
}

TEST(ServerAuth, WarnsWhenListeningBeyondLoopbackWithoutAKey) {
  const std::string warning = "warning: listening on 0.0.0.0 without --api-key";
  ServerProcess open(model_args() + " --host 0.0.0.0");
  ASSERT_GT(open.port(), 0) << open.log();
  EXPECT_EQ(open.stop(), 0);
  const auto log = open.log();
  ASSERT_NE(log.find(warning), std::string::npos) << log;
  EXPECT_EQ(log.find(warning), log.rfind(warning)) << "one warning line: " << log;
  ServerProcess keyed(model_args() + " --host 0.0.0.0 --api-key " + kKey);
  ServerProcess local(model_args());
  EXPECT_EQ(keyed.stop(), 0);
  EXPECT_EQ(local.stop(), 0);
  EXPECT_EQ(keyed.log().find("warning"), std::string::npos) << keyed.log();
  EXPECT_EQ(local.log().find("warning"), std::string::npos) << local.log();
}

// A self-signed certificate for 127.0.0.1 and its key, made by the openssl command.
struct Certificate {
  explicit Certificate(const std::filesystem::path& dir, const std::string& name = "server")
      : cert(dir / (name + ".crt")), key(dir / (name + ".key")) {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        test::quoted(key) + " -out " + test::quoted(cert) + " >/dev/null 2>&1";
    made = std::system(cmd.c_str()) == 0;
  }
  std::filesystem::path cert, key;
  bool made = false;
};

TEST(ServerTls, HttpsAnswersAsHttpDoes) {
  TempDir dir;
  const Certificate c(dir.path());
  ASSERT_TRUE(c.made) << "the openssl command (Debian's openssl, scripts/setup.sh) is needed";
  ServerProcess https(model_args() + " --api-key " + kKey + " --tls-cert " + test::quoted(c.cert) +
                          " --tls-key " + test::quoted(c.key),
                      true, "", c.cert);
  ServerProcess http(model_args());
  ASSERT_NE(https.log().find("listening on https://127.0.0.1:"), std::string::npos) << https.log();
  const std::string body = R"({"inputs": ["Close the door.", "Is it raining?"]})";
  auto secure = https.client()->Post("/embed", bearer(kKey), body, "application/json");
  auto plain = http.client()->Post("/embed", body, "application/json");
  ASSERT_TRUE(secure) << httplib::to_string(secure.error()) << https.log();
  ASSERT_TRUE(plain);
  EXPECT_EQ(secure->status, 200) << secure->body;
  EXPECT_EQ(json::parse(secure->body), json::parse(plain->body));
  expect_unauthorized(https.client()->Post("/embed", body, "application/json"), "https, no key");
  // A client speaking plain HTTP to the HTTPS port gets nothing, and stops nothing.
  httplib::Client wrong("http://127.0.0.1:" + std::to_string(https.port()));
  wrong.set_read_timeout(5, 0);
  auto r = wrong.Get("/health");
  EXPECT_TRUE(!r || r->status != 200);
  EXPECT_EQ(https.client()->Get("/health")->status, 200);
  EXPECT_EQ(https.stop(), 0) << https.log();
}

TEST(ServerTls, EveryBadCertificateOrKeyIsOneErrorLine) {
  TempDir dir;
  const Certificate c(dir.path()), other(dir.path(), "other");
  ASSERT_TRUE(c.made && other.made) << "the openssl command is needed";
  const auto garbage = dir / "garbage.pem";
  test::write_file(garbage, "not a certificate\n");
  const std::string cert = test::quoted(c.cert), key = test::quoted(c.key);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--tls-cert " + cert, "--tls-key is needed too"},
      {"--tls-key " + key, "--tls-cert is needed too"},
      {"--tls-cert " + test::quoted(dir / "none.crt") + " --tls-key " + key, "no such file"},
      {"--tls-cert " + test::quoted(garbage) + " --tls-key " + key, "not a certificate"},
      {"--tls-cert " + cert + " --tls-key " + test::quoted(garbage), "not a usable private key"},
      {"--tls-cert " + cert + " --tls-key " + test::quoted(other.key), "is not the key of"}};
  for (const auto& [args, message] : cases) {
    const auto r = test::run_mtst("serve --port 0 " + model_args() + " " + args);
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("mtst: error: ", 0), 0u) << args << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace mtst
