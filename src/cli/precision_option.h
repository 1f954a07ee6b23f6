// The --precision option of the inference subcommands (see exec_options.h for the names and
// where each one runs).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace mtst::cli {

// fp32 | bf16 | fp16 | int8, and auto | auto-int8 where ALLOW_AUTO; fp16 is for CUDA devices
// and int8 for CPUs (each refused elsewhere with one message).
inline void add_precision_option(CLI::App* cmd, std::string& precision, bool allow_auto = false) {
  std::vector<std::string> names = {"fp32", "bf16", "fp16", "int8"};
  if (allow_auto) {
    names.push_back("auto");
    names.push_back("auto-int8");
  }
  std::string help =
      "fp32 | bf16 | fp16 (CUDA only) | int8 (CPU: int8 linear layers, per-token activations)";
  if (allow_auto) {
    help +=
        " | auto (bf16 where the CPU has it natively) | auto-int8 (int8 where the CPU "
        "runs it exactly, else auto)";
  }
  cmd->add_option("--precision", precision, help)
      ->check(CLI::IsMember(names))
      ->capture_default_str();
}

}  // namespace mtst::cli
