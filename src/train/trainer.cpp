// The training loop, validation, early stopping, logging and checkpoints (see trainer.h).
#include "mtst/train/trainer.h"

#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "mtst/error.h"
#include "mtst/io/atomic_file.h"
#include "mtst/io/json_file.h"
#include "mtst/io/safetensors.h"
#include "mtst/io/shard.h"
#include "mtst/train/embedding_cache.h"
#include "mtst/train/progress.h"
#include "mtst/train/train_step.h"
#include "train/gradient_sync.h"
#include "train/trainer_impl.h"

namespace mtst {

namespace fs = std::filesystem;

namespace {

// Dropout draws from the global generator; reseeding it from (seed, step) makes every step's
// masks independent of what ran before, so a resumed run draws the same masks.
void seed_step(uint64_t seed, int64_t step) {
  torch::manual_seed(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 1);
}

void append_line(const fs::path& file, const nlohmann::json& j) {
  std::ofstream out(file, std::ios::app);
  out << j.dump() << "\n";
  if (!out) throw Error("cannot append to " + file.string());
}

}  // namespace

double Trainer::Impl::lr_factor() const { return schedule->factor(step); }

size_t Trainer::Impl::train_step() {
  const auto plan = sampler->next_step();  // the whole step's rows; this rank takes its shard
  const double factor = lr_factor();
  for (size_t g = 0; g < optimizer->num_groups(); ++g) optimizer->set_lr(g, base_lrs[g] * factor);
  seed_step(config.seed, step);
  optimizer->zero_grad();
  size_t samples = 0;
  LossScale scale;
  std::vector<std::vector<size_t>> mine(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    std::vector<int64_t> labels;
    for (size_t i : plan[t]) labels.push_back(task.train_labels[i]);
    const bool present = !labels.empty();
    scale.denominators.push_back(
        present ? loss_denominator(at::tensor(labels, at::kLong), task.class_weights) : 0.0);
    if (present) scale.weight_total += task.weight;
    const auto range =
        shard_range(plan[t].size(), static_cast<size_t>(rank()), static_cast<size_t>(world_size()));
    mine[t].assign(plan[t].begin() + static_cast<std::ptrdiff_t>(range.begin),
                   plan[t].begin() + static_cast<std::ptrdiff_t>(range.end));
    samples += plan[t].size();
  }
  const auto owners_anywhere = owners_with_rows(plan);
  const bool overlapped = overlap && overlap->knows(owners_anywhere);
  if (overlapped) {
    overlap->begin(owners_with_rows(mine), owners_anywhere, step, rows_looked_up(plan));
  }
  StepLoss loss;
  if (cached) {
    std::vector<CachedBatch> batches;
    for (size_t t = 0; t < tasks.size(); ++t) {
      const auto& task = tasks[t];
      std::vector<int64_t> rows(mine[t].begin(), mine[t].end()), labels;
      for (size_t i : mine[t]) labels.push_back(task.train_labels[i]);
      const auto index = at::tensor(rows, at::kLong).to(task.train_cache.device());
      batches.push_back({task.name, task.train_cache.index_select(0, index),
                         at::tensor(labels, at::kLong), task.weight, task.class_weights});
    }
    loss = forward_backward(model, batches, config.precision, &scale);
  } else {
    std::vector<TaskBatch> batches;
    for (size_t t = 0; t < tasks.size(); ++t) {
      const auto& task = tasks[t];
      std::vector<const std::vector<int64_t>*> ids;
      std::vector<int64_t> labels;
      for (size_t i : mine[t]) {
        ids.push_back(&task.train_ids[i]);
        labels.push_back(task.train_labels[i]);
      }
      auto batch = collate_ids(tokenizer->pad_id(), task.name, ids, labels, task.weight);
      batch.class_weights = task.class_weights;
      batches.push_back(std::move(batch));
    }
    loss = forward_backward(model, batches, config.precision, &scale);
  }
  if (distributed()) synchronize(loss, overlapped, owners_anywhere);
  optimizer->step(config.grad_clip);
  ++step;
  losses.push_back(loss.combined);
  return samples;
}

std::vector<bool> Trainer::Impl::owners_with_rows(
    const std::vector<std::vector<size_t>>& rows) const {
  std::vector<bool> present(1 + tasks.size(), false);
  for (size_t t = 0; t < tasks.size(); ++t) {
    present[1 + t] = !rows[t].empty();
    if (present[1 + t] && !cached) present[0] = true;  // the encoder ran
  }
  return present;
}

// The word-embedding rows the step's tokens (on every rank) look up, and the padding's: outside
// them the table's gradient is zero everywhere, so only they are sent.
std::map<size_t, at::Tensor> Trainer::Impl::rows_looked_up(
    const std::vector<std::vector<size_t>>& plan) const {
  if (word_embeddings < 0 || cached) return {};
  std::vector<bool> seen(
      static_cast<size_t>(trainable[static_cast<size_t>(word_embeddings)].size(0)), false);
  const auto pad = static_cast<size_t>(tokenizer->pad_id());
  if (pad < seen.size()) seen[pad] = true;
  for (size_t t = 0; t < tasks.size(); ++t) {
    for (size_t i : plan[t]) {
      for (int64_t id : tasks[t].train_ids[i]) {
        // An id beyond the table: send it whole, and let the lookup report the id.
        if (id < 0 || static_cast<size_t>(id) >= seen.size()) return {};
        seen[static_cast<size_t>(id)] = true;
      }
    }
  }
  std::vector<int64_t> rows;
  for (size_t id = 0; id < seen.size(); ++id) {
    if (seen[id]) rows.push_back(static_cast<int64_t>(id));
  }
  return {{static_cast<size_t>(word_embeddings), at::tensor(rows, at::kLong)}};
}

void Trainer::Impl::synchronize(StepLoss& loss, bool overlapped,
                                const std::vector<bool>& owners_anywhere) {
  if (overlapped) {
    overlap->finish();
    ++overlapped_steps;
    overlapped_bytes += overlap->bucket_bytes();
  } else {
    const auto anywhere = sum_gradients(trainable, *comm, step, options.gradient_bucket_bytes);
    if (overlap) overlap->learn(anywhere, owners_anywhere);
  }
  std::vector<double> values = loss.per_task;
  values.push_back(loss.combined);
  std::vector<at::Tensor> shares{at::tensor(values, at::kDouble)};
  comm->allreduce_sum(shares, "loss all-reduce at step " + std::to_string(step + 1));
  const auto* summed = shares[0].data_ptr<double>();
  for (size_t i = 0; i < loss.per_task.size(); ++i) loss.per_task[i] = summed[i];
  loss.combined = summed[loss.per_task.size()];
}

at::Tensor Trainer::Impl::embed_texts(const std::vector<std::string>& texts) const {
  if (!distributed()) {
    return cache_embeddings(model, *tokenizer, texts, info.max_seq_length, 64, config.precision);
  }
  const auto range =
      shard_range(texts.size(), static_cast<size_t>(rank()), static_cast<size_t>(world_size()));
  const std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(range.begin),
                                      texts.begin() + static_cast<std::ptrdiff_t>(range.end));
  const auto local =
      cache_embeddings(model, *tokenizer, part, info.max_seq_length, 64, config.precision);
  return comm->allgather_rows(local.to(at::kCPU), "embedding gather").to(device);
}

at::Tensor Trainer::Impl::embed_ids(const std::vector<std::vector<int64_t>>& ids) const {
  if (!distributed())
    return cache_embeddings(model, tokenizer->pad_id(), ids, 64, config.precision);
  const auto range =
      shard_range(ids.size(), static_cast<size_t>(rank()), static_cast<size_t>(world_size()));
  const std::vector<std::vector<int64_t>> part(
      ids.begin() + static_cast<std::ptrdiff_t>(range.begin),
      ids.begin() + static_cast<std::ptrdiff_t>(range.end));
  const auto local = cache_embeddings(model, tokenizer->pad_id(), part, 64, config.precision);
  return comm->allgather_rows(local.to(at::kCPU), "embedding cache gather").to(device);
}

std::vector<TaskEvaluation> Trainer::Impl::validate() {
  std::vector<TaskEvaluation> out;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    if (task.val_labels.empty()) continue;
    const at::Tensor embeddings = cached ? task.val_cache : embed_texts(task.val_texts);
    out.push_back(
        evaluate_head(model, task.name, info.tasks[t].labels, embeddings, task.val_labels));
  }
  return out;
}

nlohmann::json Trainer::Impl::state_json() const {
  nlohmann::json best = nlohmann::json::object();
  for (const auto& t : tasks) {
    best[t.name] = std::isfinite(t.best_val_loss) ? nlohmann::json(t.best_val_loss) : nullptr;
  }
  return {
      {"step", step},
      {"total_steps", total_steps},
      {"sampler", nlohmann::json::parse(sampler->state())},
      {"best_monitor", std::isnan(best_monitor) ? nlohmann::json() : nlohmann::json(best_monitor)},
      {"evals_without_improvement", evals_without_improvement},
      {"stopped", stopped},
      {"world_size", world_size()},
      {"best_val_loss", best}};
}

void Trainer::Impl::save_checkpoint(const std::string& name, bool with_state) {
  if (!writes) return;
  std::function<void(const fs::path&)> extra;
  if (with_state) {
    extra = [this](const fs::path& tmp) {
      write_safetensors(tmp / "optimizer.safetensors", optimizer->state());
      write_file_atomic(tmp / "trainer_state.json", state_json().dump(2) + "\n");
    };
  }
  save_model_dir(options.output_dir / name, model, tokenizer_dir, info, extra);
}

Trainer::~Trainer() = default;

int64_t Trainer::step() const { return impl_->step; }
int64_t Trainer::total_steps() const { return impl_->total_steps; }
int64_t Trainer::steps_per_epoch() const {
  return static_cast<int64_t>(impl_->sampler->steps_per_epoch());
}
const std::vector<double>& Trainer::loss_history() const { return impl_->losses; }
double Trainer::cache_seconds() const { return impl_->cache_seconds; }
MultiTaskModel& Trainer::model() { return impl_->model; }
std::vector<TaskEvaluation> Trainer::validate() { return impl_->validate(); }

size_t Trainer::run_steps(int64_t n) {
  size_t samples = 0;
  for (int64_t i = 0; i < n; ++i) samples += impl_->train_step();
  return samples;
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

void Trainer::Impl::log_train(TrainWindow& window, double lr_factor) {
  const double mean_loss = window.loss / static_cast<double>(window.steps);
  const double rate = static_cast<double>(window.samples) / seconds_since(window.start);
  const double lr_backbone = config.lr_backbone * lr_factor;
  const double lr_heads = config.lr_heads * lr_factor;
  events->add_scalar("train/loss", mean_loss, step);
  events->add_scalar("train/lr_backbone", lr_backbone, step);
  events->add_scalar("train/lr_heads", lr_heads, step);
  events->add_scalar("train/samples_per_s", rate, step);
  append_line(
      options.output_dir / "metrics.jsonl",
      {{"type", "train"},
       {"step", step},
       {"epoch", static_cast<double>(step) / static_cast<double>(sampler->steps_per_epoch())},
       {"loss", mean_loss},
       {"lr_backbone", lr_backbone},
       {"lr_heads", lr_heads},
       {"samples_per_s", rate}});
  window = TrainWindow{};
}

Trainer::Impl::ValidationSummary Trainer::Impl::summarize(
    const std::vector<TaskEvaluation>& evals) {
  ValidationSummary out;
  out.line = {{"type", "eval"}, {"step", step}, {"tasks", nlohmann::json::object()}};
  out.report = "validation at step " + std::to_string(step) + ":";
  double weights = 0, accuracy = 0, f1 = 0;
  for (const auto& e : evals) {
    const auto it = std::find_if(tasks.begin(), tasks.end(),
                                 [&](const TrainTask& t) { return t.name == e.task; });
    out.combined += it->weight * e.loss;
    weights += it->weight;
    accuracy += e.matrix.accuracy();
    f1 += e.matrix.macro_f1();
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %s loss %.4f acc %.4f F1 %.4f", e.task.c_str(), e.loss,
                  e.matrix.accuracy(), e.matrix.macro_f1());
    out.report += buf;
    out.line["tasks"][e.task] = {
        {"loss", e.loss}, {"accuracy", e.matrix.accuracy()}, {"macro_f1", e.matrix.macro_f1()}};
    if (writes) {
      events->add_scalar("val/" + e.task + "/loss", e.loss, step);
      events->add_scalar("val/" + e.task + "/accuracy", e.matrix.accuracy(), step);
      events->add_scalar("val/" + e.task + "/macro_f1", e.matrix.macro_f1(), step);
    }
    if (e.loss < it->best_val_loss) {
      it->best_val_loss = e.loss;
      save_checkpoint("best-" + e.task, false);
    }
  }
  out.combined /= weights;
  const double count = static_cast<double>(evals.size());
  const std::string& monitor = config.early_stopping_monitor;
  out.monitored = monitor == "val_loss"       ? out.combined
                  : monitor == "val_accuracy" ? accuracy / count
                                              : f1 / count;
  return out;
}

bool Trainer::Impl::early_stop(double monitored, std::string& report) {
  const bool lower_is_better = config.early_stopping_monitor == "val_loss";
  const bool improved =
      std::isnan(best_monitor) || (lower_is_better ? monitored < best_monitor - config.min_delta
                                                   : monitored > best_monitor + config.min_delta);
  if (improved) {
    best_monitor = monitored;
    evals_without_improvement = 0;
    return false;
  }
  ++evals_without_improvement;
  if (config.patience <= 0 || evals_without_improvement < config.patience) return false;
  stopped = true;
  report += "\nearly stop: " + config.early_stopping_monitor + " has not improved for " +
            std::to_string(evals_without_improvement) + " evaluations";
  return true;
}

void Trainer::Impl::validate_and_log(ProgressBar& progress, TrainResult& result) {
  const auto evals = validate();
  if (evals.empty()) return;
  ValidationSummary summary = summarize(evals);
  if (early_stop(summary.monitored, summary.report)) result.early_stopped = true;
  summary.line["combined_loss"] = summary.combined;
  summary.line[config.early_stopping_monitor] = summary.monitored;
  if (writes) {
    events->add_scalar("val/loss", summary.combined, step);
    append_line(options.output_dir / "metrics.jsonl", summary.line);
    events->flush();
  }
  progress.message(summary.report);
  result.last_validation = nlohmann::json::array();
  for (const auto& e : evals) result.last_validation.push_back(evaluation_json(e));
}

bool Trainer::Impl::interrupt_requested() const {
  return (options.interrupt_after_steps > 0 && step >= options.interrupt_after_steps) ||
         (options.stop_requested && options.stop_requested());
}

TrainResult Trainer::run() {
  auto& s = *impl_;
  TrainResult result;
  const int64_t first_step = s.step;
  const auto start = std::chrono::steady_clock::now();
  ProgressBar progress(s.total_steps, s.options.progress && s.rank() == 0);
  constexpr int64_t kLogEvery = 10;
  TrainWindow window;
  size_t samples = 0;
  bool interrupted = false;  // stopped early by interrupt_after_steps or stop_requested
  while (s.step < s.total_steps && !s.stopped) {
    const double lr_factor = s.lr_factor();  // the factor this step trains with
    const size_t n = s.train_step();
    samples += n;
    window.add(n, s.losses.back());
    progress.update(s.step, s.losses.back(), static_cast<double>(samples) / seconds_since(start));
    if (!std::isfinite(s.losses.back())) {
      throw Error("training diverged at step " + std::to_string(s.step) +
                  " (loss is not finite); lower the learning rates");
    }
    if (s.writes && (s.step % kLogEvery == 0 || s.step == s.total_steps)) {
      s.log_train(window, lr_factor);
    }
    const bool interrupt = s.interrupt_requested();
    if (interrupt) interrupted = s.step < s.total_steps;
    const bool eval_now = s.step % s.eval_interval == 0 || s.step == s.total_steps;
    if (interrupt) {
      if (!eval_now) s.save_checkpoint("last", true);
      if (s.writes) s.events->flush();
      if (!eval_now) break;
    }
    if (!eval_now) continue;
    s.validate_and_log(progress, result);
    s.save_checkpoint("last", true);
    if (interrupt) break;
  }
  progress.finish();
  interrupted = interrupted && !s.stopped;
  if (s.writes && !interrupted) {
    s.save_checkpoint("last", true);
    s.save_checkpoint("final", false);
    s.events->flush();
  }
  result.steps = s.step;
  result.interrupted = interrupted;
  result.steps_run = s.step - first_step;
  result.overlapped_steps = s.overlapped_steps;
  result.overlapped_bytes = s.overlapped_bytes;
  result.seconds = seconds_since(start);
  return result;
}

fs::path resume_run_dir(const fs::path& resume) {
  fs::path run = resume;
  if (run.filename() == "last" ||
      (run.filename().empty() && run.parent_path().filename() == "last")) {
    run = resume.lexically_normal().parent_path();
    if (run.filename() == "last") run = run.parent_path();
  }
  return run;
}

TrainConfig Trainer::resume_config(const fs::path& run_dir,
                                   const std::vector<std::string>& overrides,
                                   Communicator* communicator) {
  const int rank = communicator != nullptr ? communicator->rank() : 0;
  if (rank == 0) recover_checkpoints(run_dir);
  if (communicator != nullptr) communicator->barrier("resume (checkpoint recovery on rank 0)");
  const auto file = run_dir / "last" / "mtst.json";
  auto j = read_json_file(file);
  if (!j.contains("training_config") || !j.at("training_config").is_object()) {
    throw Error(file.string() + ": no training_config to resume from");
  }
  auto config = j.at("training_config");
  for (const auto& o : overrides) apply_override(config, o);
  return TrainConfig::from_json(config, run_dir, file.string());
}

}  // namespace mtst
