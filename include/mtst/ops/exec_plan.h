// The one decision of where and how a run computes: --device, --precision and --threads
// parsed, "auto" resolved, and the precision checked against the device with one clear error
// per impossible combination, before any work starts. The kernels each choice gets are
// src/ops/kernel_plan.h.
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "mtst/runtime/exec_options.h"

namespace mtst {

// "fp32" | "bf16" | "fp16" | "int8" | "auto" (bf16 where the CPU has native bf16
// instructions, else fp32; auto never picks int8, which changes results) | "auto-int8" (int8
// where this CPU has exact integer products, else what auto picks).
Precision parse_precision(const std::string& name);

// Whether PRECISION can run on DEVICE: on the CPU bf16 needs oneDNN's bf16 kernels where this
// build uses oneDNN (AVX-512 or newer); builds without oneDNN run bf16 through ATen anywhere;
// fp16 is for CUDA only (CPUs have no fast fp16 products); int8 is for CPUs whose integer
// matmul oneDNN computes exactly (kernel_plan.h); CUDA runs fp32, bf16 and fp16.
bool precision_supported(Precision p, const c10::Device& device = c10::kCPU);
// Throws one clear Error when precision_supported(P, DEVICE) is false (before any work starts).
void require_precision_supported(Precision p, const c10::Device& device = c10::kCPU);

// The options of an inference command from its --device, --precision and --threads: names
// parsed, the precision checked against the device (one clear Error before any work starts),
// and the thread count applied.
ExecOptions apply_exec_options(const std::string& device, const std::string& precision,
                               int threads);

}  // namespace mtst
