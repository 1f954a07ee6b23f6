// Building a training run: data, model (fresh, from a backbone, or restored from last/),
// optimizer groups, the frozen-backbone cache and the output directory (see trainer.h).
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>

#include "mtst/error.h"
#include "mtst/io/atomic_directory.h"
#include "mtst/io/atomic_file.h"
#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/model/model_layout.h"
#include "mtst/model/weights.h"
#include "mtst/ops/exec_plan.h"
#include "mtst/train/embedding_cache.h"
#include "mtst/train/freeze.h"
#include "train/trainer_impl.h"

namespace mtst {

namespace fs = std::filesystem;

namespace {

std::string data_summary(const std::string& task, const std::string& split, const TaskData& d) {
  std::string s = task + "/" + split + ": " + std::to_string(d.examples.size()) + " examples";
  if (d.skipped > 0) {
    s += ", " + std::to_string(d.skipped) + " bad rows skipped (first: " + d.skip_reasons[0] + ")";
  }
  return s;
}

// A resumed run continues from last/'s step; lines a killed run logged after that step are
// dropped (they are logged again), so metrics.jsonl has every step once.
void trim_metrics_after(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::ifstream in(file);
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by the kill
    }
    if (j.is_object() && j.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  write_file_atomic(file, kept);
}

}  // namespace

void recover_checkpoints(const fs::path& run_dir) {
  if (!fs::is_directory(run_dir)) return;
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    for (const char* kind : {".tmp-", ".old-"}) {
      const size_t at = name.rfind(kind);
      if (name.size() > 1 && name[0] == '.' && at != std::string::npos && at > 1) {
        names.insert(name.substr(1, at - 1));
      }
    }
  }
  for (const auto& name : names) {
    for (const auto& line : recover_directory(run_dir / name)) {
      std::fprintf(stderr, "mtst: interrupted checkpoint write: %s\n", line.c_str());
    }
  }
}

void Trainer::Impl::load_data() {
  for (const auto& tc : config.tasks) {
    TrainTask task;
    task.name = tc.name;
    task.weight = tc.loss_weight;
    if (!tc.class_weights.empty()) {
      task.class_weights = at::tensor(tc.class_weights, at::kDouble).to(at::kFloat);
    }
    auto train = load_task_data(tc.splits.at("train"));
    if (options.max_train_examples > 0 && train.examples.size() > options.max_train_examples) {
      train.examples.resize(options.max_train_examples);
    }
    if (train.examples.empty()) throw Error("task " + tc.name + ": the train split is empty");
    if (options.progress)
      std::fprintf(stderr, "%s\n", data_summary(tc.name, "train", train).c_str());
    for (const auto& ex : train.examples) {
      task.train_ids.push_back(tokenizer->encode(ex.text, info.max_seq_length));
      task.train_labels.push_back(ex.label);
    }
    const auto val = tc.splits.find("validation");
    if (val != tc.splits.end()) {
      const auto data = load_task_data(val->second);
      if (options.progress) {
        std::fprintf(stderr, "%s\n", data_summary(tc.name, "validation", data).c_str());
      }
      for (const auto& ex : data.examples) {
        task.val_texts.push_back(ex.text);
        task.val_labels.push_back(ex.label);
      }
    }
    tasks.push_back(std::move(task));
  }
}

void Trainer::Impl::build_model() {
  BertModel bert{nullptr};
  std::vector<PoolingMode> default_pooling{PoolingMode::kMean};
  size_t default_max_len = 0;
  if (!config.backbone_model_dir.empty()) {
    const auto layout = read_model_layout(config.backbone_model_dir);
    tokenizer_dir = layout.transformer_dir;
    bert = BertModel(BertConfig::from_file(tokenizer_dir / "config.json"));
    const auto weights = find_weight_file(tokenizer_dir);
    const auto tensors = read_weight_file(weights);
    load_bert_weights(bert, tensors, weights.string());
    info.pooler = pooler_weights(tensors, bert->config(), config.seed);
    default_pooling = layout.pooling;
    default_max_len = layout.max_seq_length;
    info.normalize = layout.normalize;
  } else {
    const fs::path config_file = config.backbone_config;
    tokenizer_dir = config.backbone_tokenizer;
    bert = BertModel(BertConfig::from_file(config_file));
    init_bert_weights(bert, config.seed);
    info.pooler = pooler_weights({}, bert->config(), config.seed);
  }
  tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_dir(tokenizer_dir));
  if (tokenizer->vocab_size() > static_cast<size_t>(bert->config().vocab_size)) {
    throw Error(tokenizer_dir.string() + ": the tokenizer has more tokens than the model's vocab");
  }
  info.pooling = config.pooling.empty() ? default_pooling : config.pooling;
  // sentence-transformers concatenates pooled vectors in this fixed order; so do the heads.
  std::sort(info.pooling.begin(), info.pooling.end());
  info.pooling.erase(std::unique(info.pooling.begin(), info.pooling.end()), info.pooling.end());
  size_t max_len = config.max_seq_length;
  if (max_len == 0) max_len = default_max_len;
  if (max_len == 0) max_len = tokenizer->model_max_length();
  const auto positions = static_cast<size_t>(bert->config().max_position_embeddings);
  info.max_seq_length = max_len == 0 ? positions : std::min(max_len, positions);
  info.training_config = config.to_json();

  const int64_t embedding = bert->config().hidden_size * static_cast<int64_t>(info.pooling.size());
  std::vector<std::pair<std::string, HeadConfig>> heads;
  for (const auto& tc : config.tasks) {
    TaskInfo task{tc.name, tc.splits.at("train").labels, tc.head};
    task.head.input_size = embedding;
    task.head.num_classes = static_cast<int64_t>(task.labels.size());
    heads.emplace_back(task.name, task.head);
    info.tasks.push_back(task);
  }
  torch::manual_seed(config.seed);  // the heads' default initialisation draws from it
  model = MultiTaskModel(bert, heads, info.pooling);
}

void Trainer::Impl::restore_model(const fs::path& last_dir) {
  auto loaded = load_model_dir(last_dir);
  model = loaded.model;
  tokenizer = loaded.tokenizer;
  info = loaded.info;
  info.training_config = config.to_json();
  tokenizer_dir = last_dir;
  for (const auto& tc : config.tasks) {
    const bool known = std::any_of(info.tasks.begin(), info.tasks.end(),
                                   [&](const TaskInfo& t) { return t.name == tc.name; });
    if (!known) throw Error(last_dir.string() + ": the checkpoint has no head for " + tc.name);
  }
}

// Gradient sums during backward: each trainable parameter's owner is the encoder (0) or the
// head of task t (1 + t), whose presence in a step the sampler's plan tells; so does it tell
// the rows of the word embeddings that the step looks up (rows_looked_up).
void Trainer::Impl::build_overlap(const TrainableParameters& params) {
  std::vector<size_t> owners(params.backbone.size(), 0);
  for (const auto& name : params.head_tasks) {
    size_t t = 0;
    while (tasks[t].name != name) ++t;  // every head is a task's
    owners.push_back(1 + t);
  }
  const auto& table = model->bert->embeddings->word_embeddings->weight;
  for (size_t k = 0; k < trainable.size(); ++k) {
    if (trainable[k].is_same(table)) word_embeddings = static_cast<int64_t>(k);
  }
  const int64_t bucket = options.gradient_bucket_bytes;
  overlap = std::make_unique<GradientOverlap>(
      trainable, owners, 1 + tasks.size(), *comm,
      GradientOverlap::Sizes{std::min(bucket, int64_t{1} << 20), bucket});
}

void Trainer::Impl::build_optimizer() {
  const auto policy = FreezePolicy::parse(config.freeze);
  backbone_frozen = policy.backbone_frozen();
  const auto params = apply_freeze(model, policy);
  // Weight decay on matrices only: biases and LayerNorm weights (the 1-D parameters) are not
  // decayed, as Hugging Face's Trainer does.
  std::vector<AdamWGroup> groups;
  auto add_groups = [&](const std::vector<at::Tensor>& list, double lr) {
    AdamWGroup decay{{}, lr, config.weight_decay}, no_decay{{}, lr, 0.0};
    for (const auto& p : list) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
    for (auto* group : {&decay, &no_decay}) {
      if (group->params.empty()) continue;
      groups.push_back(*group);
      base_lrs.push_back(lr);
    }
  };
  add_groups(params.backbone, config.lr_backbone);
  add_groups(params.heads, config.lr_heads);
  trainable = params.backbone;
  trainable.insert(trainable.end(), params.heads.begin(), params.heads.end());
  if (distributed() && options.overlap_gradients) build_overlap(params);
  optimizer = std::make_unique<FusedAdamW>(groups, config.beta1, config.beta2, config.eps);

  std::vector<size_t> sizes;
  for (const auto& t : tasks) sizes.push_back(t.train_ids.size());
  SamplerOptions so;
  so.strategy = config.sampling;
  so.batch_size = config.batch_size;
  so.temperature = config.sampling_temperature;
  so.seed = config.seed;
  sampler = std::make_unique<MultiTaskSampler>(sizes, so);
  const auto per_epoch = static_cast<int64_t>(sampler->steps_per_epoch());
  total_steps = config.max_steps > 0 ? config.max_steps : config.max_epochs * per_epoch;
  const int64_t warmup =
      config.warmup_steps > 0
          ? config.warmup_steps
          : static_cast<int64_t>(std::ceil(config.warmup_ratio * static_cast<double>(total_steps)));
  schedule = std::make_unique<LrSchedule>(config.schedule, total_steps, warmup);
  eval_interval = config.eval_interval > 0 ? config.eval_interval : per_epoch;
}

void Trainer::Impl::build_cache() {
  if (backbone_frozen) model->bert->eval();  // a frozen encoder runs without dropout
  cached = backbone_frozen && options.cache_embeddings;
  if (!cached) return;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& task : tasks) {
    // Sharded over the ranks of a job and gathered: every rank holds the whole cache.
    task.train_cache = embed_ids(task.train_ids);
    if (!task.val_texts.empty()) task.val_cache = embed_texts(task.val_texts);
  }
  cache_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Trainer::Impl::restore_state(const fs::path& last_dir) {
  const auto file = last_dir / "trainer_state.json";
  const auto state = read_json_file(file);
  const std::string where = file.string();
  step = json_required<int64_t>(state, "step", where);
  sampler->restore(state.at("sampler").dump());
  best_monitor = state.at("best_monitor").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                    : state.at("best_monitor").get<double>();
  evals_without_improvement = json_required<int64_t>(state, "evals_without_improvement", where);
  stopped = json_required<bool>(state, "stopped", where);
  // Each step's rows are sharded from the global plan, so another world size continues the
  // same run (re-sharded); said once, by the rank that speaks.
  const int64_t saved_world = state.value("world_size", int64_t{1});
  if (saved_world != world_size() && rank() == 0) {
    std::cerr << "mtst: resuming a run trained on " << saved_world << " rank(s) with "
              << world_size() << ": the same global batches, re-sharded\n";
  }
  for (auto& task : tasks) {
    const auto& best = state.at("best_val_loss");
    if (best.contains(task.name) && !best.at(task.name).is_null()) {
      task.best_val_loss = best.at(task.name).get<double>();
    }
  }
  optimizer->load_state(read_safetensors(last_dir / "optimizer.safetensors"));
}

void Trainer::Impl::prepare_output_dir() {
  const auto& dir = options.output_dir;
  if (!writes) return;
  if (!options.resume) {
    std::vector<fs::path> previous;
    if (fs::exists(dir)) {
      for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name == "last" || name == "final" || name.rfind("best-", 0) == 0 ||
            name == "tensorboard" || name == "metrics.jsonl" || name == "train_config.json") {
          previous.push_back(entry.path());
        }
      }
    }
    if (!previous.empty() && !options.overwrite) {
      throw Error(dir.string() +
                  " already holds a training run; continue it with --resume, or pass "
                  "--overwrite to replace it");
    }
    for (const auto& p : previous) fs::remove_all(p);
  }
  fs::create_directories(dir);
  if (options.resume) trim_metrics_after(dir / "metrics.jsonl", step);
  write_file_atomic(dir / "train_config.json", config.to_json().dump(2) + "\n");
  events = std::make_unique<TfEventsWriter>(dir / "tensorboard");
  if (options.resume) events->add_session_start(step + 1);
}

void Trainer::Impl::broadcast_parameters() {
  // Rank 0's weights everywhere, as DDP starts (the same seed gives the same ones anyway).
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> values;
  for (const auto& p : model->parameters()) values.push_back(p.detach());
  comm->broadcast(values, 0, "parameter broadcast");
}

Trainer::Trainer(const TrainConfig& config, const TrainerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.device = parse_device(config.device);
  require_precision_supported(config.precision, s.device);
  s.config = config;
  s.options = options;
  // Checked before any work: the run directory must be one (or not exist yet).
  const auto& dir = options.output_dir;
  if (!dir.empty() && fs::exists(dir) && !fs::is_directory(dir)) {
    throw Error(dir.string() + " exists and is not a directory (the run directory, --output)");
  }
  s.comm = options.communicator;
  if (s.distributed() && s.device.is_cuda()) {
    throw Error(
        "distributed training runs on CPU ranks (Gloo) for now; NCCL for CUDA ranks is "
        "not built yet: use --device cpu");
  }
  s.writes = !dir.empty() && s.rank() == 0;
  if (s.writes) recover_checkpoints(dir);
  if (s.distributed()) s.comm->barrier("start (checkpoint recovery on rank 0)");
  const fs::path last = options.output_dir / "last";
  if (options.resume) {
    if (!fs::exists(last / "trainer_state.json")) {
      throw Error(options.output_dir.string() +
                  ": no last/ checkpoint with trainer state to resume");
    }
    s.restore_model(last);
  } else {
    s.build_model();
  }
  s.model->to(s.device);  // before the optimizer takes the parameters
  if (s.distributed()) s.broadcast_parameters();
  s.load_data();
  s.build_optimizer();
  if (options.resume) s.restore_state(last);
  s.build_cache();
  s.prepare_output_dir();
  s.model->train();
  if (s.backbone_frozen) s.model->bert->eval();
}

}  // namespace mtst
