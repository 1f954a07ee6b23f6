// Server metrics in the Prometheus text exposition format (version 0.0.4): request counts by
// endpoint and status, request latency, batch size and batch tokens as histograms, and the
// queue depth. Debian packages no C++ Prometheus client, and the format is a few lines of
// text, so this small writer is ours. Thread-safe. Internal to src/serve.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mtst::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Lines "<name>_bucket{<labels>le="..."} n", _sum and _count; LABELS is "" or `k="v",`.
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void request(const std::string& endpoint, int status, double seconds);
  void batch(size_t requests, size_t tokens);
  // The whole exposition; QUEUE_DEPTH and IN_FLIGHT are read at scrape time.
  std::string render(size_t queue_depth, size_t in_flight) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram batch_requests_, batch_tokens_;
};

}  // namespace mtst::serve
