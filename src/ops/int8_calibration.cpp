// The calibration sentences and the recording linear backend (int8_calibration.h).
#include "ops/int8_calibration.h"

#include <sstream>

namespace mtst {

namespace {

class RecordingLinear final : public LinearBackend {
 public:
  RecordingLinear(std::shared_ptr<const LinearBackend> inner,
                  std::shared_ptr<InputRecorder> recorder)
      : inner_(std::move(inner)), recorder_(std::move(recorder)) {}
  at::Tensor forward(const at::Tensor& x, const MatmulEpilogue& e) const override {
    recorder_->record(x);
    return inner_->forward(x, e);
  }

 private:
  std::shared_ptr<const LinearBackend> inner_;
  std::shared_ptr<InputRecorder> recorder_;
};

}  // namespace

std::vector<std::string> int8_calibration_sentences() {
  std::vector<std::string> out;
  std::istringstream in(int8_calibration_text());
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

void InputRecorder::record(const at::Tensor& x) {
  if (x.size(0) == 0) return;
  const auto m = x.detach().to(at::kFloat).abs().amax(0);
  std::lock_guard<std::mutex> lock(mutex_);
  absmax_ = absmax_.defined() ? at::maximum(absmax_, m) : m;
}

at::Tensor InputRecorder::absmax() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return absmax_;
}

std::shared_ptr<const LinearBackend> make_recording_linear(
    std::shared_ptr<const LinearBackend> inner, std::shared_ptr<InputRecorder> recorder) {
  return std::make_shared<RecordingLinear>(std::move(inner), std::move(recorder));
}

}  // namespace mtst
