// The device x precision decision (mtst/ops/exec_plan.h): what "auto" means on this CPU, which
// combinations run, and the one error message of each one that does not.
#include "mtst/ops/exec_plan.h"

#include "mtst/error.h"
#include "ops/kernel_plan.h"
#include "ops/matmul_cpu_dnnl.h"

namespace mtst {

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

ExecOptions apply_exec_options(const std::string& device, const std::string& precision,
                               int threads) {
  ExecOptions exec;
  exec.device = parse_device(device);
  exec.precision = parse_precision(precision);
  require_precision_supported(exec.precision, exec.device);
  exec.threads = apply_threads(threads);
  return exec;
}

}  // namespace mtst
