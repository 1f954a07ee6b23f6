// The --precision option of the inference subcommands (see exec_options.h for the names and
// where each one runs).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace mtst::cli {

// fp32 | bf16 | fp16, and auto where ALLOW_AUTO; fp16 is for CUDA devices (a CPU refuses it).
inline void add_precision_option(CLI::App* cmd, std::string& precision, bool allow_auto = false) {
  std::vector<std::string> names = {"fp32", "bf16", "fp16"};
  if (allow_auto) names.push_back("auto");
  std::string help = "fp32 | bf16 | fp16 (fp16: CUDA only)";
  if (allow_auto) help += " | auto (bf16 where the CPU has it natively)";
  cmd->add_option("--precision", precision, help)
      ->check(CLI::IsMember(names))
      ->capture_default_str();
}

}  // namespace mtst::cli
