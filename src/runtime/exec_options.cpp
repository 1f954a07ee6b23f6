// Device and precision names, the CPU facts they depend on, and the thread-count policy
// (physical cores by default).
#include "mtst/runtime/exec_options.h"

#include <ATen/Parallel.h>
#include <malloc.h>
#include <torch/cuda.h>

#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include "mtst/error.h"

namespace mtst {

bool native_bf16() {
  // AVX-512 BF16 (Cooper Lake, Sapphire Rapids, Zen 4) or AMX: oneDNN has real bf16 kernels.
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    return line.find(" avx512_bf16") != std::string::npos ||
           line.find(" amx_bf16") != std::string::npos;
  }
  return false;
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kInt8:
      return "int8";
    default:
      return "fp32";
  }
}

at::ScalarType precision_dtype(Precision p) {
  return p == Precision::kBf16 ? at::kBFloat16 : p == Precision::kFp16 ? at::kHalf : at::kFloat;
}

int cuda_device_count() { return static_cast<int>(torch::cuda::device_count()); }

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::kCPU;
  if (name == "auto") return cuda_device_count() > 0 ? c10::Device(c10::kCUDA, 0) : c10::kCPU;
  int index = -1;
  if (name == "cuda") {
    index = 0;
  } else if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() <= 8 &&
             name.find_first_not_of("0123456789", 5) == std::string::npos) {
    index = std::stoi(name.substr(5));
  } else {
    throw Error("unknown device '" + name + "' (expected cpu, cuda, cuda:N or auto)");
  }
  const int count = cuda_device_count();
  if (count == 0) {
    throw Error("device " + name +
                ": CUDA is not available here (this libtorch was built without CUDA, or "
                "there is no GPU or driver); use --device cpu");
  }
  if (index >= count) {
    throw Error("device " + name + ": this machine has " + std::to_string(count) +
                " CUDA device(s), numbered from 0");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string device_name(const c10::Device& device) { return device.str(); }

int physical_cores() {
  // Count distinct (physical id, core id) pairs; hyper-threads share a core and a GEMM.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical = "0";
  while (std::getline(in, line)) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("physical id", 0) == 0) physical = value();
    if (line.rfind("core id", 0) == 0) cores.emplace(physical, value());
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  const unsigned logical = std::thread::hardware_concurrency();
  return logical > 0 ? static_cast<int>(logical) : 1;
}

void keep_freed_memory() {
  // 32 MiB is glibc's largest mmap threshold; buffers up to that size are reused from the heap.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
}

int apply_threads(int threads) {
  if (threads < 0) throw Error("--threads must be >= 0 (0 = physical cores)");
  const int n = threads == 0 ? physical_cores() : threads;
  at::set_num_threads(n);
  return n;
}

}  // namespace mtst
