// The subcommands of the mtst CLI. Each file adds its subcommand to the app and runs it;
// main.cpp only dispatches and turns errors into exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace mtst::cli {

void add_tokenize_command(CLI::App& app);
void add_encode_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace mtst::cli
