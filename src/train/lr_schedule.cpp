// Warmup + decay learning-rate factors (see lr_schedule.h).
#include "mtst/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "mtst/error.h"

namespace mtst {

LrSchedule::LrSchedule(const std::string& type, int64_t total, int64_t warmup)
    : type_(type), total_(total), warmup_(warmup) {
  if (type != "linear" && type != "cosine" && type != "constant") {
    throw Error("schedule type '" + type + "' is unknown (expected linear, cosine or constant)");
  }
  if (total <= 0 || warmup < 0) throw Error("schedule: total steps must be > 0, warmup >= 0");
}

double LrSchedule::factor(int64_t step) const {
  if (step < warmup_)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
  if (type_ == "constant") return 1.0;
  const double progress = static_cast<double>(step - warmup_) /
                          static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  if (type_ == "linear") return std::max(0.0, 1.0 - progress);
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace mtst
