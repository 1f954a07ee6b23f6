// A one-line training progress display on stderr (silent when disabled): step/total, loss,
// samples/s and ETA. On a terminal it redraws in place (at most ~5 times a second); otherwise it
// prints a plain line every 5% of the run so logs stay short. Nothing else writes through it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mtst {

class ProgressBar {
 public:
  ProgressBar(int64_t total_steps, bool enabled);
  // STEP is the number of steps done; SAMPLES_PER_S is the rate since the run (re)started.
  void update(int64_t step, double loss, double samples_per_s);
  // A message on its own line (evaluation results), not overwritten by the next update.
  void message(const std::string& text);
  void finish();

 private:
  int64_t total_;
  bool enabled_, tty_;
  bool drawn_ = false;
  int64_t last_printed_step_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t start_step_ = -1;
};

}  // namespace mtst
