// Device and precision names, their availability checks, and the thread-count policy
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
#include "runtime/dnnl_matmul.h"
#include "runtime/kernel_plan.h"

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

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  if (name == "int8") return Precision::kInt8;
  if (name == "auto") return native_bf16() ? Precision::kBf16 : Precision::kFp32;
  if (name == "auto-int8") {
    if (int8_support().available) return Precision::kInt8;
    return native_bf16() ? Precision::kBf16 : Precision::kFp32;
  }
  throw Error("unknown precision '" + name +
              "' (expected fp32, bf16, fp16, int8, auto or auto-int8)");
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

bool precision_supported(Precision p, const c10::Device& device) {
  if (p == Precision::kInt8) return device.is_cpu() && int8_support().available;
  if (device.is_cuda()) return true;
  if (p == Precision::kFp16) return false;
  return p != Precision::kBf16 || !dnnl_available() || dnnl_bf16_available();
}

void require_precision_supported(Precision p, const c10::Device& device) {
  if (precision_supported(p, device)) return;
  if (p == Precision::kInt8) {
    if (!device.is_cpu()) {
      throw Error("precision int8 runs on the CPU only (--device cpu); on " + device.str() +
                  " use fp16, bf16 or fp32");
    }
    throw Error(int8_support().why_not);
  }
  if (p == Precision::kFp16) {
    throw Error(
        "precision fp16 runs on CUDA devices only (--device cuda); on the CPU use bf16 "
        "(where the CPU has it) or fp32");
  }
  throw Error(
      "precision bf16 is not available on this CPU: oneDNN has no bf16 kernels for it "
      "(they need AVX-512); use fp32, or auto (bf16 only where the CPU has it natively)");
}

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

ExecOptions apply_exec_options(const std::string& device, const std::string& precision,
                               int threads) {
  ExecOptions exec;
  exec.device = parse_device(device);
  exec.precision = parse_precision(precision);
  require_precision_supported(exec.precision, exec.device);
  exec.threads = apply_threads(threads);
  return exec;
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
