// --batch-size and --max-batch-tokens: how the inference subcommands cut inputs into forward
// passes (sentences per pass, and a token budget per pass as TEI's --max-batch-tokens).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>

namespace mtst::cli {

inline void add_batch_options(CLI::App* cmd, size_t& batch_size, size_t& max_batch_tokens) {
  cmd->add_option("--batch-size", batch_size, "Sentences per forward pass, at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", max_batch_tokens,
                  "Padded tokens (sentences x longest) per forward pass, at most; bounds a "
                  "GPU's memory per pass (0 = no budget; a longer sentence still gets a pass)")
      ->capture_default_str();
}

}  // namespace mtst::cli
