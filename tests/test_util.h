// Shared helpers for the tests: fixture paths, temp dirs, max-abs-diff with a printed value,
// and running the mtst binary as a subprocess.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ops/cpu/int8_rows.h"

namespace mtst::test {

inline std::filesystem::path fixtures() { return MTST_FIXTURES_DIR; }

// Why a bf16 test skips on CPUs without bf16 kernels (mtst refuses bf16 there; see
// Cli.Bf16IsRefusedWhereTheCpuHasNoKernels).
inline constexpr const char* kNoBf16 = "this CPU has no bf16 kernels (oneDNN needs AVX-512)";

// The vector ISAs of mtst's own row kernels that this CPU can run (the plain one always).
std::vector<cpu::VectorIsa> runnable_vector_isas();

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// max |a - b| as a double, printed to stdout with LABEL (goldens report their margin).
double max_abs_diff(const at::Tensor& a, const at::Tensor& b, const std::string& label);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  long peak_rss_kb = 0;  // the command's peak resident memory (wait4's ru_maxrss)
};

// Runs the built mtst binary with ARGS (a shell-quoted string), optional stdin text.
CommandResult run_mtst(const std::string& args, const std::string& stdin_text = "");

std::string read_file(const std::filesystem::path& path);

// PATH in single quotes, for the shell command lines of run_mtst.
inline std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

// A training config for the tiny fixture BERT (tests/fixtures/tiny-bert-train) on the small
// data slices of tests/fixtures/train-data (tasks "category" and "sentiment", all three
// splits, absolute paths): batch 8, 8 steps, validation every 4. Tests override what they need.
nlohmann::json tiny_train_config();
void write_file(const std::filesystem::path& path, const std::string& bytes);

// A loopback TCP port that was free a moment ago (bound to port 0, then released).
int free_tcp_port();

}  // namespace mtst::test
