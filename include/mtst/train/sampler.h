// Which examples each task's batch holds at each multi-task training step, for tasks of
// unequal size, and how many steps make an epoch. Deterministic for a seed on every platform
// (raw std::mt19937_64 draws only), and resumable exactly from state(). It plans indices only:
// it does not load, collate or weight examples, and batches never mix tasks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mtst {

// Every task reads its examples from its own stream: pass 0, pass 1, ... each a fresh
// Fisher-Yates permutation of 0..n-1 (seeded from the sampler seed, the task and the pass).
//
// kOversample (the original behaviour): epoch = ceil(max_n / batch) steps; every step holds one
//   batch from every task, all of the same size (batch, or what remains of max_n on the epoch's
//   last step), so each task contributes exactly max_n examples per epoch. The longest task(s)
//   read exactly one pass per epoch (each index once). Shorter tasks are re-shuffled
//   cyclically, not drawn with replacement: their batches run on into the next pass, so each
//   index appears floor(max_n / n) or ceil(max_n / n) times per epoch (each epoch starts every
//   task on a fresh pass, dropping the rest of the last one); a batch that straddles two passes
//   can repeat an index.
// kProportional: each step holds a batch from ONE task, chosen with probability n_i / sum(n),
//   independently per step; the other tasks' entries are empty. A batch never straddles
//   passes: it holds min(batch, what is left of the task's current pass) indices, so within a
//   pass every index appears exactly once. Epoch = sum_i ceil(n_i / batch) steps (the number
//   of such batches in one pass over every task).
// kRoundRobin: tasks take turns, one step each (0, 1, ..., T-1, 0, 1, ...), with batches as in
//   kProportional. Epoch = T * ceil(max_n / batch) steps, so the longest task reads one pass
//   per epoch and shorter ones cycle through theirs more often; every epoch starts at task 0.
// kTemperature: as kProportional with p_i proportional to n_i^(1/temperature): 1 is
//   proportional, large values approach uniform. Epoch as kProportional.
//
// Steps run on across epochs: epoch e is steps [e * steps_per_epoch(), (e+1) *
// steps_per_epoch()). Only kOversample restarts passes at epoch boundaries; the other
// strategies' streams run on across them.
enum class SamplingStrategy { kOversample, kProportional, kRoundRobin, kTemperature };

// "oversample" | "proportional" | "round_robin" | "temperature"; anything else is an
// mtst::Error listing the choices.
SamplingStrategy parse_sampling_strategy(const std::string& name);
std::string sampling_strategy_name(SamplingStrategy strategy);

struct SamplerOptions {
  SamplingStrategy strategy = SamplingStrategy::kOversample;
  size_t batch_size = 0;     // must be set: 0 is an error
  double temperature = 2.0;  // kTemperature only (must be finite and > 0); ignored otherwise
  uint64_t seed = 0;
};

class MultiTaskSampler {
 public:
  // mtst::Error for no tasks, a task of size 0, batch_size 0 or (kTemperature) a temperature
  // that is not finite and positive.
  MultiTaskSampler(std::vector<size_t> task_sizes, SamplerOptions options);

  size_t steps_per_epoch() const { return steps_per_epoch_; }
  // Steps planned so far (next_step() calls since construction, or as restored).
  uint64_t step() const { return step_; }
  // The task probabilities for kProportional / kTemperature (sum to 1); empty otherwise.
  const std::vector<double>& task_probabilities() const { return probabilities_; }

  // The plan for one step: for each task (in the constructor's order), the example indices of
  // its batch; empty when the strategy skips that task this step.
  std::vector<std::vector<size_t>> next_step();

  // The position as a JSON object (options, task sizes, step and each task's pass and cursor).
  // restore() resumes exactly where state() was taken; it is an mtst::Error if the text is not
  // such a state or was taken from a sampler with other options or task sizes.
  std::string state() const;
  void restore(const std::string& state);

 private:
  struct TaskStream {
    uint64_t pass = 0;          // which permutation the task is reading
    size_t cursor = 0;          // position in it; always < the task's size
    std::vector<size_t> order;  // the permutation of `pass`, built lazily
    uint64_t order_pass = UINT64_MAX;
  };

  size_t choose_task();
  // Appends up to `count` indices of `task` to `out`; stops at the end of the current pass
  // unless `straddle`. Returns how many it appended.
  size_t take(size_t task, size_t count, bool straddle, std::vector<size_t>& out);

  std::vector<size_t> task_sizes_;
  SamplerOptions options_;
  size_t max_size_ = 0;
  size_t steps_per_epoch_ = 0;
  std::vector<double> probabilities_;
  uint64_t step_ = 0;
  std::vector<TaskStream> streams_;
};

}  // namespace mtst
