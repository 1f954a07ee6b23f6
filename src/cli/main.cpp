// mtst command-line entry point: builds the subcommands, dispatches, maps errors to exit codes
// (1 for mtst errors, 2 for usage errors). No command logic lives here.
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "mtst/error.h"
#include "mtst/runtime/exec_options.h"

int main(int argc, char** argv) {
  mtst::keep_freed_memory();
  CLI::App app{"mtst: multi-task sentence transformer (BERT encoders on libtorch)", "mtst"};
  app.set_version_flag("--version", std::string("mtst ") + MTST_VERSION);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  mtst::cli::add_tokenize_command(app);
  mtst::cli::add_encode_command(app);
  mtst::cli::add_train_command(app);
  mtst::cli::add_evaluate_command(app);
  mtst::cli::add_predict_command(app);
  mtst::cli::add_serve_command(app);
  mtst::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help/--version exit 0; every usage error exits 2 (CLI11's own codes vary by kind).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const mtst::Error& e) {
    std::cerr << "mtst: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mtst: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
