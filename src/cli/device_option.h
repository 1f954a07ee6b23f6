// The --device option every model-running subcommand shares (see exec_options.h for names).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace mtst::cli {

inline void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, "cpu | cuda | cuda:N | auto (CUDA when present)")
      ->capture_default_str();
}

}  // namespace mtst::cli
