// Where and how tensors are computed: device, precision and CPU threads, their names, and the
// facts about this machine they depend on. The decision that combines them (auto resolved, the
// combination validated) is mtst/ops/exec_plan.h; nothing else decides device, dtype or thread
// count.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace mtst {

// kInt8: int8 linear layers (s8 weights, per-token u8 activations) with fp32 everywhere else;
// CPU only (src/ops/kernel_plan.h says which kernels).
enum class Precision { kFp32, kBf16, kFp16, kInt8 };

struct ExecOptions {
  Precision precision = Precision::kFp32;
  int threads = 0;  // 0 = the number of physical cores
  c10::Device device = c10::kCPU;
};

// "cpu" | "cuda" | "cuda:N" | "auto" (CUDA device 0 when this build and machine have one, else
// the CPU). Throws one clear Error for another name, or for a CUDA device that is not there
// (a CPU-only libtorch, no GPU or driver, or N out of range).
c10::Device parse_device(const std::string& name);
std::string device_name(const c10::Device& device);
// CUDA devices this process can use (0 with a CPU-only libtorch).
int cuda_device_count();

bool native_bf16();
std::string precision_name(Precision p);
// The tensor dtype a precision computes its activations in: float, bfloat16 or half (int8
// keeps float activations between its integer products).
at::ScalarType precision_dtype(Precision p);

// Applies the thread count to libtorch (and so to oneDNN, which shares its OpenMP pool).
// Returns the count used.
int apply_threads(int threads);

// Keeps freed tensor buffers in the process (glibc otherwise returns every buffer over 128 KiB
// to the kernel and page-faults it back in on the next batch). Call once at startup.
void keep_freed_memory();

// Physical cores of this machine (logical CPUs / threads per core), at least 1.
int physical_cores();

}  // namespace mtst
