// Calibration of int8 precision: the built-in calibration text, and a linear backend that
// records the largest |x| per input column while it computes in float (the statistics the
// int8 backend's SmoothQuant factors come from).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ops/linear.h"

namespace mtst {

// data/int8-calibration.txt as compiled in: 256 training sentences of the bundled tasks, one
// per line.
const char* int8_calibration_text();
std::vector<std::string> int8_calibration_sentences();

class InputRecorder {
 public:
  void record(const at::Tensor& x);  // x [M,K]
  at::Tensor absmax() const;         // [K] float, undefined before any record

 private:
  mutable std::mutex mutex_;
  at::Tensor absmax_;
};

// INNER's results, with every input recorded into RECORDER.
std::shared_ptr<const LinearBackend> make_recording_linear(
    std::shared_ptr<const LinearBackend> inner, std::shared_ptr<InputRecorder> recorder);

}  // namespace mtst
