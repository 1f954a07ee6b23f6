// Tests for mtst::MultiTaskSampler: per strategy, steps per epoch, how evenly tasks and
// examples are drawn, determinism for a seed (with a pinned plan, since the engine's output is
// fixed by the standard), exact resumption from state(), and the option errors.
#include "mtst/train/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "mtst/error.h"

namespace mtst {
namespace {

using Plan = std::vector<std::vector<size_t>>;

const SamplingStrategy kAll[] = {SamplingStrategy::kOversample, SamplingStrategy::kProportional,
                                 SamplingStrategy::kRoundRobin, SamplingStrategy::kTemperature};

SamplerOptions options(SamplingStrategy strategy, size_t batch = 8, uint64_t seed = 0) {
  SamplerOptions o;
  o.strategy = strategy;
  o.batch_size = batch;
  o.seed = seed;
  return o;
}

std::vector<Plan> run(MultiTaskSampler& sampler, size_t steps) {
  std::vector<Plan> plans;
  for (size_t i = 0; i < steps; ++i) plans.push_back(sampler.next_step());
  return plans;
}

std::vector<size_t> iota(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<size_t> sorted(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The tasks that have a non-empty batch in a plan.
std::vector<size_t> active_tasks(const Plan& plan) {
  std::vector<size_t> tasks;
  for (size_t t = 0; t < plan.size(); ++t) {
    if (!plan[t].empty()) tasks.push_back(t);
  }
  return tasks;
}

TEST(SamplerTest, ParsesStrategyNames) {
  EXPECT_EQ(parse_sampling_strategy("oversample"), SamplingStrategy::kOversample);
  EXPECT_EQ(parse_sampling_strategy("proportional"), SamplingStrategy::kProportional);
  EXPECT_EQ(parse_sampling_strategy("round_robin"), SamplingStrategy::kRoundRobin);
  EXPECT_EQ(parse_sampling_strategy("temperature"), SamplingStrategy::kTemperature);
  for (SamplingStrategy s : kAll) EXPECT_EQ(parse_sampling_strategy(sampling_strategy_name(s)), s);
  try {
    parse_sampling_strategy("Round-Robin");
    FAIL() << "expected mtst::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* name :
         {"Round-Robin", "oversample", "proportional", "round_robin", "temperature"}) {
      EXPECT_NE(message.find(name), std::string::npos) << message;
    }
  }
}

TEST(SamplerTest, RejectsBadOptions) {
  const SamplerOptions good = options(SamplingStrategy::kOversample);
  EXPECT_THROW(MultiTaskSampler({}, good), Error);
  EXPECT_THROW(MultiTaskSampler({10, 0}, good), Error);
  EXPECT_THROW(MultiTaskSampler({10}, options(SamplingStrategy::kOversample, 0)), Error);
  SamplerOptions hot = options(SamplingStrategy::kTemperature);
  for (double t : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    hot.temperature = t;
    EXPECT_THROW(MultiTaskSampler({10}, hot), Error) << t;
  }
  // The temperature is only read by kTemperature.
  SamplerOptions proportional = options(SamplingStrategy::kProportional);
  proportional.temperature = 0;
  EXPECT_NO_THROW(MultiTaskSampler({10}, proportional));
}

// sizes {100, 30}, batch 8: ceil(100 / 8) = 13 steps; 12 batches of 8 and one of 4 from each.
TEST(SamplerTest, OversampleEpoch) {
  MultiTaskSampler sampler({100, 30}, options(SamplingStrategy::kOversample));
  ASSERT_EQ(sampler.steps_per_epoch(), 13u);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<size_t> seen[2];
    for (size_t step = 0; step < 13; ++step) {
      const Plan plan = sampler.next_step();
      ASSERT_EQ(plan.size(), 2u);
      const size_t expected = step < 12 ? 8 : 4;
      EXPECT_EQ(plan[0].size(), expected);
      EXPECT_EQ(plan[1].size(), expected);
      for (size_t t = 0; t < 2; ++t) seen[t].insert(seen[t].end(), plan[t].begin(), plan[t].end());
    }
    // The longest task: each index exactly once per epoch.
    EXPECT_EQ(sorted(seen[0]), iota(100));
    // The shorter one: max_n = 100 examples, each index 3 or 4 times (cyclic reshuffling).
    ASSERT_EQ(seen[1].size(), 100u);
    std::map<size_t, int> times;
    for (size_t i : seen[1]) ++times[i];
    EXPECT_EQ(times.size(), 30u);
    for (const auto& [index, n] : times) {
      EXPECT_LT(index, 30u);
      EXPECT_TRUE(n == 3 || n == 4) << index << " seen " << n << " times";
    }
  }
}

TEST(SamplerTest, OversampleEqualSizesAreEachOnePassPerEpoch) {
  MultiTaskSampler sampler({20, 20, 5}, options(SamplingStrategy::kOversample, 6));
  ASSERT_EQ(sampler.steps_per_epoch(), 4u);  // 6 + 6 + 6 + 2
  std::vector<size_t> seen[3];
  for (const Plan& plan : run(sampler, 4)) {
    for (size_t t = 0; t < 3; ++t) seen[t].insert(seen[t].end(), plan[t].begin(), plan[t].end());
  }
  EXPECT_EQ(sorted(seen[0]), iota(20));
  EXPECT_EQ(sorted(seen[1]), iota(20));
  EXPECT_EQ(seen[2].size(), 20u);  // 4 passes over 5 examples
  EXPECT_NE(seen[0], seen[1]);     // each task has its own permutation
}

// Each task's indices, in the order drawn, split into passes of its size: each a permutation.
void expect_passes_without_replacement(const std::vector<Plan>& plans, size_t task, size_t n,
                                       size_t batch) {
  std::vector<size_t> drawn;
  std::vector<size_t> batch_sizes;
  for (const Plan& plan : plans) {
    if (plan[task].empty()) continue;
    drawn.insert(drawn.end(), plan[task].begin(), plan[task].end());
    batch_sizes.push_back(plan[task].size());
  }
  ASSERT_GE(drawn.size(), 2 * n) << "too few draws for task " << task;
  for (size_t start = 0; start + n <= drawn.size(); start += n) {
    std::vector<size_t> pass(drawn.begin() + start, drawn.begin() + start + n);
    EXPECT_EQ(sorted(pass), iota(n)) << "task " << task << " pass at " << start;
  }
  // Batches stop at the end of a pass: full batches, then the remainder.
  const size_t per_pass = (n + batch - 1) / batch;
  for (size_t i = 0; i < batch_sizes.size(); ++i) {
    const size_t expected = i % per_pass + 1 < per_pass || n % batch == 0 ? batch : n % batch;
    EXPECT_EQ(batch_sizes[i], expected) << "task " << task << " batch " << i;
  }
}

// Frequency with which each task is chosen over `plans`.
std::vector<double> task_frequencies(const std::vector<Plan>& plans, size_t tasks) {
  std::vector<double> freq(tasks, 0.0);
  for (const Plan& plan : plans) {
    const std::vector<size_t> active = active_tasks(plan);
    EXPECT_EQ(active.size(), 1u);
    if (active.size() == 1) freq[active[0]] += 1.0;
  }
  for (double& f : freq) f /= static_cast<double>(plans.size());
  return freq;
}

// sizes {100, 30}, batch 8: 13 + 4 = 17 steps; p = 100/130, 30/130.
TEST(SamplerTest, ProportionalEpochAndBalance) {
  MultiTaskSampler sampler({100, 30}, options(SamplingStrategy::kProportional, 8, 7));
  EXPECT_EQ(sampler.steps_per_epoch(), 17u);
  ASSERT_EQ(sampler.task_probabilities().size(), 2u);
  EXPECT_DOUBLE_EQ(sampler.task_probabilities()[0], 100.0 / 130.0);
  const std::vector<Plan> plans = run(sampler, 20000);
  const std::vector<double> freq = task_frequencies(plans, 2);
  EXPECT_NEAR(freq[0], 100.0 / 130.0, 0.015);  // binomial sd ~0.003
  EXPECT_NEAR(freq[1], 30.0 / 130.0, 0.015);
  expect_passes_without_replacement(plans, 0, 100, 8);
  expect_passes_without_replacement(plans, 1, 30, 8);
}

// p_i ~ n_i^(1/T): T = 2 gives 10 / (10 + sqrt(30)) = 0.6461 for the larger task.
TEST(SamplerTest, TemperatureBalance) {
  SamplerOptions o = options(SamplingStrategy::kTemperature, 8, 11);
  o.temperature = 2.0;
  MultiTaskSampler sampler({100, 30}, o);
  EXPECT_EQ(sampler.steps_per_epoch(), 17u);
  const double p0 = 10.0 / (10.0 + std::sqrt(30.0));
  EXPECT_NEAR(sampler.task_probabilities()[0], p0, 1e-12);
  const std::vector<Plan> plans = run(sampler, 20000);
  const std::vector<double> freq = task_frequencies(plans, 2);
  EXPECT_NEAR(freq[0], p0, 0.015);
  EXPECT_NEAR(freq[1], 1 - p0, 0.015);
  expect_passes_without_replacement(plans, 0, 100, 8);
  expect_passes_without_replacement(plans, 1, 30, 8);

  // T = 1 is proportional; a huge T is nearly uniform.
  o.temperature = 1.0;
  EXPECT_NEAR(MultiTaskSampler({100, 30}, o).task_probabilities()[0], 100.0 / 130.0, 1e-12);
  o.temperature = 1e9;
  const std::vector<double> flat = MultiTaskSampler({100, 30, 5}, o).task_probabilities();
  for (double p : flat) EXPECT_NEAR(p, 1.0 / 3.0, 1e-6);
}

// sizes {100, 30}, batch 8: 2 tasks x 13 turns = 26 steps; turns alternate 0, 1, 0, 1, ...
TEST(SamplerTest, RoundRobinAlternates) {
  MultiTaskSampler sampler({100, 30}, options(SamplingStrategy::kRoundRobin));
  ASSERT_EQ(sampler.steps_per_epoch(), 26u);
  const std::vector<Plan> plans = run(sampler, 26 * 4);
  for (size_t step = 0; step < plans.size(); ++step) {
    EXPECT_EQ(active_tasks(plans[step]), std::vector<size_t>{step % 2}) << step;
  }
  // The longest task reads exactly one pass per epoch.
  for (size_t epoch = 0; epoch < 4; ++epoch) {
    std::vector<size_t> seen;
    for (size_t step = epoch * 26; step < (epoch + 1) * 26; ++step) {
      seen.insert(seen.end(), plans[step][0].begin(), plans[step][0].end());
    }
    EXPECT_EQ(sorted(seen), iota(100)) << "epoch " << epoch;
  }
  expect_passes_without_replacement(plans, 1, 30, 8);

  MultiTaskSampler three({4, 9, 2}, options(SamplingStrategy::kRoundRobin, 3));
  EXPECT_EQ(three.steps_per_epoch(), 9u);  // 3 tasks x ceil(9 / 3)
  for (size_t step = 0; step < 30; ++step) {
    EXPECT_EQ(active_tasks(three.next_step()), std::vector<size_t>{step % 3}) << step;
  }
}

TEST(SamplerTest, SameSeedSamePlanOtherSeedOtherPlan) {
  for (SamplingStrategy s : kAll) {
    SCOPED_TRACE(sampling_strategy_name(s));
    MultiTaskSampler a({100, 30, 7}, options(s, 8, 42));
    MultiTaskSampler b({100, 30, 7}, options(s, 8, 42));
    MultiTaskSampler c({100, 30, 7}, options(s, 8, 43));
    const std::vector<Plan> plan_a = run(a, 60);
    EXPECT_EQ(plan_a, run(b, 60));
    EXPECT_NE(plan_a, run(c, 60));
  }
}

// std::mt19937_64's output is fixed by the standard and the sampler draws from it directly, so
// a plan is the same with every compiler and library. This pins one (seed 0).
TEST(SamplerTest, PlanIsPinned) {
  MultiTaskSampler sampler({10, 4}, options(SamplingStrategy::kOversample, 10));
  const Plan plan = sampler.next_step();
  EXPECT_EQ(plan[0], (std::vector<size_t>{6, 2, 1, 4, 8, 0, 9, 5, 3, 7}));
  EXPECT_EQ(plan[1], (std::vector<size_t>{3, 0, 1, 2, 2, 1, 0, 3, 0, 2}));
}

TEST(SamplerTest, RestoreResumesExactly) {
  // Saved mid-epoch (37) and on an epoch boundary (26 = 2 x 13 for kOversample and 1 x 26
  // for kRoundRobin), resuming across later boundaries.
  for (SamplingStrategy s : kAll) {
    for (size_t saved_at : {37u, 26u}) {
      SCOPED_TRACE(sampling_strategy_name(s) + " at " + std::to_string(saved_at));
      MultiTaskSampler original({100, 30, 7}, options(s, 8, 5));
      run(original, saved_at);
      const std::string saved = original.state();
      const std::vector<Plan> expected = run(original, 80);

      MultiTaskSampler fresh({100, 30, 7}, options(s, 8, 5));
      fresh.restore(saved);
      EXPECT_EQ(fresh.step(), saved_at);
      EXPECT_EQ(fresh.state(), saved);
      EXPECT_EQ(run(fresh, 80), expected);

      // Restoring also rewinds a sampler that has moved on.
      original.restore(saved);
      EXPECT_EQ(run(original, 80), expected);
    }
  }
}

TEST(SamplerTest, RestoreRejectsForeignOrBrokenStates) {
  MultiTaskSampler source({100, 30}, options(SamplingStrategy::kProportional, 8, 5));
  run(source, 3);
  const std::string saved = source.state();

  MultiTaskSampler other_seed({100, 30}, options(SamplingStrategy::kProportional, 8, 6));
  EXPECT_THROW(other_seed.restore(saved), Error);
  MultiTaskSampler other_sizes({100, 31}, options(SamplingStrategy::kProportional, 8, 5));
  EXPECT_THROW(other_sizes.restore(saved), Error);
  MultiTaskSampler other_batch({100, 30}, options(SamplingStrategy::kProportional, 9, 5));
  EXPECT_THROW(other_batch.restore(saved), Error);
  MultiTaskSampler other_strategy({100, 30}, options(SamplingStrategy::kRoundRobin, 8, 5));
  EXPECT_THROW(other_strategy.restore(saved), Error);

  MultiTaskSampler target({100, 30}, options(SamplingStrategy::kProportional, 8, 5));
  const std::string before = target.state();
  EXPECT_THROW(target.restore("not json"), Error);
  EXPECT_THROW(target.restore("{}"), Error);
  EXPECT_THROW(target.restore("[1, 2]"), Error);
  nlohmann::json edited = nlohmann::json::parse(saved);
  edited["cursors"][1] = 30;  // task 1 has 30 examples: cursors run 0..29
  const std::string bad_cursor = edited.dump();
  edited["cursors"][1] = 29;
  EXPECT_NO_THROW(MultiTaskSampler({100, 30}, options(SamplingStrategy::kProportional, 8, 5))
                      .restore(edited.dump()));
  edited["passes"] = {0};
  EXPECT_THROW(target.restore(edited.dump()), Error);
  EXPECT_THROW(target.restore(bad_cursor), Error);
  EXPECT_EQ(target.state(), before);  // a failed restore changes nothing
}

}  // namespace
}  // namespace mtst
