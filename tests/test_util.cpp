// Test helpers: temp dirs, tensor diffs, subprocess runs of the mtst binary.
#include "test_util.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "mtst/distributed/free_port.h"

namespace mtst::test {

std::vector<cpu::VectorIsa> runnable_vector_isas() {
  std::vector<cpu::VectorIsa> isas = {cpu::VectorIsa::kDefault};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    isas.push_back(cpu::VectorIsa::kAvx2);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    isas.push_back(cpu::VectorIsa::kAvx512);
  }
  return isas;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("mtst-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(rd() % 100000));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b, const std::string& label) {
  const double diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
  std::cout << "[max-diff] " << label << ": " << diff << std::endl;
  return diff;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

CommandResult run_mtst(const std::string& args, const std::string& stdin_text) {
  TempDir dir;
  const auto in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  write_file(in, stdin_text);
  const std::string cmd = std::string("exec '") + MTST_BINARY + "' " + args + " <'" + in.string() +
                          "' >'" + out.string() + "' 2>'" + err.string() + "'";
  CommandResult r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (pid > 0 && ::wait4(pid, &status, 0, &usage) == pid) {
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.peak_rss_kb = usage.ru_maxrss;
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

nlohmann::json tiny_train_config() {
  const auto data = fixtures() / "train-data";
  auto task = [&](const std::string& name, nlohmann::json labels) {
    return nlohmann::json{{"name", name},
                          {"files",
                           {{"train", (data / (name + "_train.csv")).string()},
                            {"validation", (data / (name + "_validation.csv")).string()},
                            {"test", (data / (name + "_test.csv")).string()}}},
                          {"labels", labels},
                          {"head", {{"hidden_size", 16}, {"dropout", 0.1}}}};
  };
  return {
      {"backbone", {{"model", (fixtures() / "tiny-bert-train").string()}, {"max_seq_length", 32}}},
      {"tasks",
       {task("category", {"declarative", "imperative", "question"}),
        task("sentiment", {"negative", "neutral", "positive"})}},
      {"optimizer", {{"lr_backbone", 1e-3}, {"lr_heads", 3e-3}}},
      {"training", {{"batch_size", 8}, {"max_steps", 8}, {"eval_interval", 4}, {"seed", 7}}}};
}

int free_tcp_port() { return free_loopback_port(); }

}  // namespace mtst::test
