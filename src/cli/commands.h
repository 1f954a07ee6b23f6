// The subcommands of the mtst CLI. Each file adds its subcommand to the app and runs it;
// main.cpp only dispatches and turns errors into exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace mtst::cli {

void add_tokenize_command(CLI::App& app);
void add_encode_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_bench_train_command(CLI::App& bench);  // `mtst bench train`, under `mtst bench`
void add_bench_serve_command(CLI::App& bench);  // `mtst bench serve`
void add_evaluate_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace mtst::cli
