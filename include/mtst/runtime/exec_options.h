// Where and how tensors are computed, chosen in one place: device, precision and CPU threads.
// The model code reads these; nothing else decides device, dtype or thread count.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace mtst {

// kInt8: int8 linear layers (s8 weights, per-token u8 activations) with fp32 everywhere else;
// CPU only (kernel_plan.h says which kernels).
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

// "fp32" | "bf16" | "fp16" | "int8" | "auto" (bf16 where the CPU has native bf16
// instructions, else fp32; auto never picks int8, which changes results) | "auto-int8" (int8
// where this CPU has exact integer products, else what auto picks).
Precision parse_precision(const std::string& name);
bool native_bf16();
std::string precision_name(Precision p);
// The tensor dtype a precision computes its activations in: float, bfloat16 or half (int8
// keeps float activations between its integer products).
at::ScalarType precision_dtype(Precision p);

// Whether PRECISION can run on DEVICE: on the CPU bf16 needs oneDNN's bf16 kernels where this
// build uses oneDNN (AVX-512 or newer); builds without oneDNN run bf16 through ATen anywhere;
// fp16 is for CUDA only (CPUs have no fast fp16 products); int8 is for CPUs whose integer
// matmul oneDNN computes exactly (kernel_plan.h); CUDA runs fp32, bf16 and fp16.
bool precision_supported(Precision p, const c10::Device& device = c10::kCPU);
// Throws one clear Error when precision_supported(P, DEVICE) is false (before any work starts).
void require_precision_supported(Precision p, const c10::Device& device = c10::kCPU);

// Applies the thread count to libtorch (and so to oneDNN, which shares its OpenMP pool).
// Returns the count used.
int apply_threads(int threads);

// The options of an inference command from its --device, --precision and --threads: names
// parsed, the precision checked against the device (one clear Error before any work starts),
// and the thread count applied.
ExecOptions apply_exec_options(const std::string& device, const std::string& precision,
                               int threads);

// Keeps freed tensor buffers in the process (glibc otherwise returns every buffer over 128 KiB
// to the kernel and page-faults it back in on the next batch). Call once at startup.
void keep_freed_memory();

// Physical cores of this machine (logical CPUs / threads per core), at least 1.
int physical_cores();

}  // namespace mtst
