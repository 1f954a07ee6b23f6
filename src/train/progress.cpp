// Training progress line (see progress.h).
#include "mtst/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace mtst {

ProgressBar::ProgressBar(int64_t total_steps, bool enabled)
    : total_(total_steps), enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(int64_t step, double loss, double samples_per_s) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (start_step_ < 0) {
    start_step_ = step - 1;
    start_ = now;
  }
  const bool last = step >= total_;
  if (tty_) {
    if (!last && now - last_draw_ < std::chrono::milliseconds(200)) return;
  } else {
    const int64_t every = std::max<int64_t>(1, total_ / 20);
    if (!last && step / every == last_printed_step_ / every) return;
  }
  last_draw_ = now;
  last_printed_step_ = step;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double per_step = elapsed / static_cast<double>(std::max<int64_t>(1, step - start_step_));
  const auto eta = static_cast<int64_t>(per_step * static_cast<double>(total_ - step));
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * step / std::max<int64_t>(1, total_));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "%s[%s] step %lld/%lld  loss %.4f  %.1f samples/s  ETA %lld:%02lld%s",
               tty_ ? "\r" : "", bar.c_str(), static_cast<long long>(step),
               static_cast<long long>(total_), loss, samples_per_s,
               static_cast<long long>(eta / 60), static_cast<long long>(eta % 60),
               tty_ ? "\033[K" : "\n");
  std::fflush(stderr);
  drawn_ = tty_;
}

void ProgressBar::message(const std::string& text) {
  if (!enabled_) return;
  if (drawn_) std::fputs("\n", stderr);
  drawn_ = false;
  std::fputs(text.c_str(), stderr);
  if (text.empty() || text.back() != '\n') std::fputs("\n", stderr);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) std::fputs("\n", stderr);
  drawn_ = false;
}

}  // namespace mtst
