// Prometheus text exposition of the server's metrics (see metrics.h).
#include "serve/metrics.h"

#include <sstream>

namespace mtst::serve {

namespace {

std::string number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& labels) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
  return out;
}

ServerMetrics::ServerMetrics()
    : batch_requests_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      batch_tokens_({64, 256, 1024, 4096, 16384, 65536}) {}

void ServerMetrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  auto it = latency_.find(endpoint);
  if (it == latency_.end()) {
    it = latency_
             .emplace(endpoint, Histogram({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                           1, 2.5, 5, 10}))
             .first;
  }
  it->second.observe(seconds);
}

void ServerMetrics::batch(size_t requests, size_t tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_requests_.observe(static_cast<double>(requests));
  batch_tokens_.observe(static_cast<double>(tokens));
}

std::string ServerMetrics::render(size_t queue_depth, size_t in_flight) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP mtst_requests_total HTTP requests by endpoint and status code.\n";
  out += "# TYPE mtst_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "mtst_requests_total{endpoint=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP mtst_request_duration_seconds Request latency, receipt to response.\n";
  out += "# TYPE mtst_request_duration_seconds histogram\n";
  for (const auto& [endpoint, h] : latency_) {
    out += h.render("mtst_request_duration_seconds", "endpoint=\"" + endpoint + "\",");
  }
  out += "# HELP mtst_batch_requests Requests per model batch.\n";
  out += "# TYPE mtst_batch_requests histogram\n";
  out += batch_requests_.render("mtst_batch_requests", "");
  out += "# HELP mtst_batch_tokens Tokens per model batch.\n";
  out += "# TYPE mtst_batch_tokens histogram\n";
  out += batch_tokens_.render("mtst_batch_tokens", "");
  out += "# HELP mtst_queue_depth Requests waiting for the model worker.\n";
  out += "# TYPE mtst_queue_depth gauge\n";
  out += "mtst_queue_depth " + std::to_string(queue_depth) + "\n";
  out += "# HELP mtst_requests_in_flight Requests accepted and not yet answered.\n";
  out += "# TYPE mtst_requests_in_flight gauge\n";
  out += "mtst_requests_in_flight " + std::to_string(in_flight) + "\n";
  return out;
}

}  // namespace mtst::serve
