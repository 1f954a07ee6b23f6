// Where and how tensors are computed, chosen in one place: precision and CPU threads.
// The model code reads these; nothing else decides dtype or thread count.
#pragma once

#include <string>

namespace mtst {

enum class Precision { kFp32, kBf16 };

struct ExecOptions {
  Precision precision = Precision::kFp32;
  int threads = 0;  // 0 = the number of physical cores
};

// "fp32" | "bf16" | "auto" (bf16 where the CPU has native bf16 instructions, else fp32).
Precision parse_precision(const std::string& name);
bool native_bf16();
std::string precision_name(Precision p);

// Whether PRECISION can run on this CPU: bf16 needs oneDNN's bf16 kernels where this build
// uses oneDNN (AVX-512 or newer); builds without oneDNN run bf16 through ATen anywhere.
bool precision_supported(Precision p);
// Throws one clear Error when precision_supported(P) is false (before any work starts).
void require_precision_supported(Precision p);

// Applies the thread count to libtorch (and so to oneDNN, which shares its OpenMP pool).
// Returns the count used.
int apply_threads(int threads);

// Keeps freed tensor buffers in the process (glibc otherwise returns every buffer over 128 KiB
// to the kernel and page-faults it back in on the next batch). Call once at startup.
void keep_freed_memory();

// Physical cores of this machine (logical CPUs / threads per core), at least 1.
int physical_cores();

}  // namespace mtst
