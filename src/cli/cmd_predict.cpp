// `mtst predict`: per-sentence labels of every task of a trained model, as the seed's text
// blocks (Sentence / Category / Sentiment ...) or one JSON object per input, in input order.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/batch_options.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/precision_option.h"
#include "mtst/error.h"
#include "mtst/io/text_input.h"
#include "mtst/model/predictor.h"
#include "mtst/ops/exec_plan.h"

namespace mtst::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::string input = "-";
  std::string format = "text";
  bool embeddings = false;
  size_t batch_size = 32;
  size_t max_batch_tokens = 0;
  std::string precision = "fp32";
  std::string device = "cpu";
  int threads = 0;
};

// "category" -> "Category": the seed's block headings.
std::string heading(const std::string& task) {
  std::string h = task;
  if (!h.empty() && h[0] >= 'a' && h[0] <= 'z') h[0] = static_cast<char>(h[0] - 'a' + 'A');
  return h;
}

void run_predict(const PredictArgs& args) {
  if (args.embeddings && args.format != "jsonl") {
    throw Error("--embeddings needs --format jsonl");
  }
  const ExecOptions exec = apply_exec_options(args.device, args.precision, args.threads);
  const auto texts = read_texts(args.input);
  const auto predictor = Predictor::load(args.model, exec);
  size_t truncated = 0;
  const auto inputs =
      predictor.head_inputs(texts, args.batch_size, args.max_batch_tokens, &truncated);
  std::vector<at::Tensor> probs;
  for (const auto& logits : predictor.logits(inputs)) probs.push_back(at::softmax(logits, 1));
  const auto& tasks = predictor.info().tasks;
  at::Tensor embeddings;
  if (args.embeddings) embeddings = predictor.sentence_embeddings(inputs).contiguous();
  std::vector<at::Tensor> best;
  for (const auto& p : probs) best.push_back(p.argmax(1).contiguous());
  std::string out;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    if (args.format == "text") {
      out += "\nSentence: " + texts[i] + "\n";
      for (size_t t = 0; t < tasks.size(); ++t) {
        out += heading(tasks[t].name) + ": " +
               tasks[t].labels[static_cast<size_t>(best[t][row].item<int64_t>())] + "\n";
      }
      out += std::string(80, '-') + "\n";
      continue;
    }
    nlohmann::json line = {{"text", texts[i]}};
    for (size_t t = 0; t < tasks.size(); ++t) {
      nlohmann::json scores = nlohmann::json::object();
      for (size_t c = 0; c < tasks[t].labels.size(); ++c) {
        scores[tasks[t].labels[c]] = probs[t][row][static_cast<int64_t>(c)].item<double>();
      }
      const auto label = tasks[t].labels[static_cast<size_t>(best[t][row].item<int64_t>())];
      line[tasks[t].name] = {{"label", label}, {"scores", scores}};
    }
    if (args.embeddings) {
      const auto* data = embeddings[row].data_ptr<float>();
      line["embedding"] = std::vector<float>(data, data + embeddings.size(1));
    }
    out += line.dump() + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (truncated > 0) {
    std::cerr << "mtst: " << truncated << " of " << texts.size() << " inputs were longer than "
              << predictor.info().max_seq_length << " tokens and were truncated\n";
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Labels of every task for each input sentence");
  cmd->add_option("--model", args->model, "Model directory written by mtst train")->required();
  cmd->add_option("--input", args->input,
                  "Text file (one sentence per line) or .jsonl with a \"text\" field; - = stdin");
  cmd->add_option("--format", args->format, "text (Sentence/Category/... blocks) | jsonl")
      ->check(CLI::IsMember({"text", "jsonl"}));
  cmd->add_flag("--embeddings", args->embeddings, "Add each sentence's embedding (jsonl only)");
  add_batch_options(cmd, args->batch_size, args->max_batch_tokens);
  add_precision_option(cmd, args->precision);
  add_device_option(cmd, args->device);
  cmd->add_option("--threads", args->threads, "CPU threads (0 = physical cores)");
  cmd->callback([args] { run_predict(*args); });
}

}  // namespace mtst::cli
