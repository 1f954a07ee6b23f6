// Multi-task batch plans: per-task streams of seeded permutations, a per-step task choice,
// and a JSON state of counters only (permutations are rebuilt from the seed on restore).
// Random numbers come straight from std::mt19937_64 (whose output the standard fixes), never
// from the library's distributions or std::shuffle, whose output varies between libraries.
#include "mtst/train/sampler.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "mtst/error.h"

namespace mtst {
namespace {

constexpr char kStateFormat[] = "mtst.sampler/1";
constexpr uint64_t kChoiceStream = UINT64_MAX;  // never a task index

// splitmix64's finaliser: spreads nearby inputs (seed, task, pass) over the whole range.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix(mix(mix(seed) ^ stream) ^ counter);
}

// Uniform in [0, bound), bound > 0, by rejection: drops the 2^64 mod bound lowest values.
uint64_t bounded(std::mt19937_64& engine, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t x = engine();
    if (x >= threshold) return x % bound;
  }
}

// Uniform in [0, 1) with 53 random bits.
double unit_double(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

std::vector<size_t> permutation(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 engine(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[bounded(engine, i)]);
  return order;
}

size_t ceil_div(size_t a, size_t b) { return a / b + (a % b != 0); }

}  // namespace

SamplingStrategy parse_sampling_strategy(const std::string& name) {
  if (name == "oversample") return SamplingStrategy::kOversample;
  if (name == "proportional") return SamplingStrategy::kProportional;
  if (name == "round_robin") return SamplingStrategy::kRoundRobin;
  if (name == "temperature") return SamplingStrategy::kTemperature;
  throw Error("unknown sampling strategy \"" + name +
              "\": expected oversample, proportional, round_robin or temperature");
}

std::string sampling_strategy_name(SamplingStrategy strategy) {
  switch (strategy) {
    case SamplingStrategy::kOversample:
      return "oversample";
    case SamplingStrategy::kProportional:
      return "proportional";
    case SamplingStrategy::kRoundRobin:
      return "round_robin";
    case SamplingStrategy::kTemperature:
      return "temperature";
  }
  throw Error("invalid sampling strategy value");
}

MultiTaskSampler::MultiTaskSampler(std::vector<size_t> task_sizes, SamplerOptions options)
    : task_sizes_(std::move(task_sizes)), options_(options) {
  if (task_sizes_.empty()) throw Error("sampler: no tasks");
  for (size_t i = 0; i < task_sizes_.size(); ++i) {
    if (task_sizes_[i] == 0) throw Error("sampler: task " + std::to_string(i) + " has no examples");
  }
  if (options_.batch_size == 0) throw Error("sampler: batch_size must be at least 1");
  const SamplingStrategy strategy = options_.strategy;
  if (strategy == SamplingStrategy::kTemperature &&
      !(std::isfinite(options_.temperature) && options_.temperature > 0)) {
    throw Error("sampler: temperature must be a positive number, got " +
                std::to_string(options_.temperature));
  }
  sampling_strategy_name(strategy);  // rejects values outside the enum

  const size_t batch = options_.batch_size;
  max_size_ = *std::max_element(task_sizes_.begin(), task_sizes_.end());
  if (strategy == SamplingStrategy::kOversample) {
    steps_per_epoch_ = ceil_div(max_size_, batch);
  } else if (strategy == SamplingStrategy::kRoundRobin) {
    steps_per_epoch_ = task_sizes_.size() * ceil_div(max_size_, batch);
  } else {
    const double exponent =
        strategy == SamplingStrategy::kTemperature ? 1.0 / options_.temperature : 1.0;
    double sum = 0;
    for (size_t n : task_sizes_) {
      steps_per_epoch_ += ceil_div(n, batch);
      probabilities_.push_back(std::pow(static_cast<double>(n), exponent));
      sum += probabilities_.back();
    }
    for (double& p : probabilities_) p /= sum;
  }
  streams_.resize(task_sizes_.size());
}

size_t MultiTaskSampler::choose_task() {
  std::mt19937_64 engine(derive_seed(options_.seed, kChoiceStream, step_));
  const double u = unit_double(engine);
  double cumulative = 0;
  for (size_t i = 0; i + 1 < probabilities_.size(); ++i) {
    cumulative += probabilities_[i];
    if (u < cumulative) return i;
  }
  return probabilities_.size() - 1;  // also absorbs rounding in the cumulative sum
}

size_t MultiTaskSampler::take(size_t task, size_t count, bool straddle, std::vector<size_t>& out) {
  TaskStream& s = streams_[task];
  const size_t n = task_sizes_[task];
  if (!straddle) count = std::min(count, n - s.cursor);
  for (size_t taken = 0; taken < count; ++taken) {
    if (s.order_pass != s.pass) {
      s.order = permutation(n, derive_seed(options_.seed, task, s.pass));
      s.order_pass = s.pass;
    }
    out.push_back(s.order[s.cursor]);
    if (++s.cursor == n) {
      s.cursor = 0;
      ++s.pass;
    }
  }
  return count;
}

std::vector<std::vector<size_t>> MultiTaskSampler::next_step() {
  std::vector<std::vector<size_t>> plan(task_sizes_.size());
  const size_t batch = options_.batch_size;
  switch (options_.strategy) {
    case SamplingStrategy::kOversample: {
      const size_t position = static_cast<size_t>(step_ % steps_per_epoch_);
      const size_t count = std::min(batch, max_size_ - position * batch);
      for (size_t task = 0; task < task_sizes_.size(); ++task) {
        TaskStream& s = streams_[task];
        if (position == 0 && s.cursor != 0) {  // a new epoch starts every task on a new pass
          ++s.pass;
          s.cursor = 0;
        }
        take(task, count, /*straddle=*/true, plan[task]);
      }
      break;
    }
    case SamplingStrategy::kRoundRobin: {
      const size_t task = static_cast<size_t>(step_ % task_sizes_.size());
      take(task, batch, /*straddle=*/false, plan[task]);
      break;
    }
    case SamplingStrategy::kProportional:
    case SamplingStrategy::kTemperature: {
      const size_t task = choose_task();
      take(task, batch, /*straddle=*/false, plan[task]);
      break;
    }
  }
  ++step_;
  return plan;
}

std::string MultiTaskSampler::state() const {
  nlohmann::json passes = nlohmann::json::array();
  nlohmann::json cursors = nlohmann::json::array();
  for (const TaskStream& s : streams_) {
    passes.push_back(s.pass);
    cursors.push_back(s.cursor);
  }
  nlohmann::json state = {
      {"format", kStateFormat},
      {"strategy", sampling_strategy_name(options_.strategy)},
      {"batch_size", options_.batch_size},
      {"temperature", options_.temperature},
      {"seed", options_.seed},
      {"task_sizes", task_sizes_},
      {"step", step_},
      {"passes", std::move(passes)},
      {"cursors", std::move(cursors)},
  };
  return state.dump();
}

void MultiTaskSampler::restore(const std::string& text) {
  std::vector<TaskStream> streams(task_sizes_.size());
  uint64_t step = 0;
  try {
    const nlohmann::json state = nlohmann::json::parse(text);
    if (!state.is_object() || state.value("format", "") != kStateFormat) {
      throw Error(std::string("sampler state: not a ") + kStateFormat + " object");
    }
    const auto mismatch = [](const std::string& what) {
      return Error("sampler state: taken with a different " + what);
    };
    if (state.at("strategy").get<std::string>() != sampling_strategy_name(options_.strategy)) {
      throw mismatch("strategy");
    }
    if (state.at("batch_size").get<size_t>() != options_.batch_size) throw mismatch("batch_size");
    if (state.at("seed").get<uint64_t>() != options_.seed) throw mismatch("seed");
    if (options_.strategy == SamplingStrategy::kTemperature &&
        state.at("temperature").get<double>() != options_.temperature) {
      throw mismatch("temperature");
    }
    if (state.at("task_sizes").get<std::vector<size_t>>() != task_sizes_) {
      throw mismatch("list of task sizes");
    }
    step = state.at("step").get<uint64_t>();
    const auto passes = state.at("passes").get<std::vector<uint64_t>>();
    const auto cursors = state.at("cursors").get<std::vector<size_t>>();
    if (passes.size() != task_sizes_.size() || cursors.size() != task_sizes_.size()) {
      throw Error("sampler state: passes and cursors need one entry per task");
    }
    for (size_t i = 0; i < task_sizes_.size(); ++i) {
      if (cursors[i] >= task_sizes_[i]) {
        throw Error("sampler state: cursor of task " + std::to_string(i) + " is out of range");
      }
      streams[i].pass = passes[i];
      streams[i].cursor = cursors[i];
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("sampler state: ") + e.what());
  }
  step_ = step;
  streams_ = std::move(streams);
}

}  // namespace mtst
