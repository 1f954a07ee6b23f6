// The learning-rate multiplier at each optimizer step, as Hugging Face's schedulers define it:
// linear warmup from 0 over WARMUP steps, then constant, linear decay to 0, or half-cosine
// decay to 0 at TOTAL steps. Step s (0-based) uses factor(s), so with warmup the first update
// has learning rate 0, exactly as transformers' get_linear_schedule_with_warmup does.
#pragma once

#include <cstdint>
#include <string>

namespace mtst {

class LrSchedule {
 public:
  // TYPE: "linear" | "cosine" | "constant"; TOTAL > 0; 0 <= WARMUP. mtst::Error otherwise.
  LrSchedule(const std::string& type, int64_t total, int64_t warmup);
  double factor(int64_t step) const;
  int64_t warmup() const { return warmup_; }

 private:
  std::string type_;
  int64_t total_, warmup_;
};

}  // namespace mtst
