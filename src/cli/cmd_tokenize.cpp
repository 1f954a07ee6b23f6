// `mtst tokenize`: what the tokenizer makes of each input, one {"ids": [...]} JSON line each.
// No truncation unless --max-seq-length is given; DIR may hold only tokenizer files.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"
#include "mtst/text/tokenizer.h"

namespace mtst::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::string input = "-";
  size_t max_seq_length = 0;
};

void run_tokenize(const TokenizeArgs& args) {
  const auto tokenizer = Tokenizer::from_dir(args.model);
  if (args.max_seq_length == 1) throw Error("--max-seq-length must be 0 (none) or at least 2");
  const auto texts = read_texts(args.input);
  std::string line;
  for (const auto& text : texts) {
    const auto ids = tokenizer.encode(text, args.max_seq_length);
    line = "{\"ids\": [";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) line += ", ";
      line += std::to_string(ids[i]);
    }
    line += "]}\n";
    std::cout << line;
  }
  std::cout.flush();
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Print token ids as JSON lines, one per input");
  cmd->add_option("--model", args->model,
                  "Model or tokenizer directory (tokenizer.json, or vocab.txt + "
                  "tokenizer_config.json)")
      ->required();
  cmd->add_option("--input", args->input,
                  "Text file (one sentence per line) or .jsonl with a \"text\" field; - = stdin");
  cmd->add_option("--max-seq-length", args->max_seq_length,
                  "Truncate to this many ids, keeping [SEP] (0 = no truncation)");
  cmd->callback([args] { run_tokenize(*args); });
}

}  // namespace mtst::cli
