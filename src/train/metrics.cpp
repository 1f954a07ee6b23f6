// Confusion-matrix counting and the ratios read from it; every undefined ratio is 0.
#include "mtst/train/metrics.h"

#include <string>

#include "mtst/error.h"

namespace mtst {

ConfusionMatrix::ConfusionMatrix(size_t num_classes) : num_classes_(num_classes) {
  if (num_classes_ == 0) throw Error("confusion matrix: needs at least one class");
  counts_.assign(num_classes_ * num_classes_, 0);
}

void ConfusionMatrix::add(int64_t truth, int64_t predicted) {
  const auto in_range = [this](int64_t label) {
    return label >= 0 && static_cast<uint64_t>(label) < num_classes_;
  };
  if (!in_range(truth) || !in_range(predicted)) {
    throw Error("confusion matrix: label out of range (truth " + std::to_string(truth) +
                ", predicted " + std::to_string(predicted) + "; classes are 0.." +
                std::to_string(num_classes_ - 1) + ")");
  }
  ++counts_[static_cast<size_t>(truth) * num_classes_ + static_cast<size_t>(predicted)];
  ++total_;
}

void ConfusionMatrix::check_class(size_t c) const {
  if (c >= num_classes_) {
    throw Error("confusion matrix: class " + std::to_string(c) + " out of range (" +
                std::to_string(num_classes_) + " classes)");
  }
}

size_t ConfusionMatrix::count(size_t truth, size_t predicted) const {
  check_class(truth);
  check_class(predicted);
  return counts_[truth * num_classes_ + predicted];
}

size_t ConfusionMatrix::support(size_t c) const {
  check_class(c);
  size_t sum = 0;
  for (size_t p = 0; p < num_classes_; ++p) sum += counts_[c * num_classes_ + p];
  return sum;
}

size_t ConfusionMatrix::predicted(size_t c) const {
  check_class(c);
  size_t sum = 0;
  for (size_t t = 0; t < num_classes_; ++t) sum += counts_[t * num_classes_ + c];
  return sum;
}

double ConfusionMatrix::accuracy() const {
  if (total_ == 0) return 0.0;
  size_t correct = 0;
  for (size_t c = 0; c < num_classes_; ++c) correct += counts_[c * num_classes_ + c];
  return static_cast<double>(correct) / static_cast<double>(total_);
}

double ConfusionMatrix::precision(size_t c) const {
  const size_t denominator = predicted(c);
  return denominator == 0 ? 0.0 : static_cast<double>(count(c, c)) / denominator;
}

double ConfusionMatrix::recall(size_t c) const {
  const size_t denominator = support(c);
  return denominator == 0 ? 0.0 : static_cast<double>(count(c, c)) / denominator;
}

double ConfusionMatrix::f1(size_t c) const {
  // 2tp / (2tp + fp + fn): the harmonic mean of precision and recall, without dividing twice.
  const size_t tp = count(c, c);
  const size_t denominator = support(c) + predicted(c);  // = 2tp + fn + fp
  return tp == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denominator);
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0;
  size_t classes = 0;
  for (size_t c = 0; c < num_classes_; ++c) {
    if (support(c) + predicted(c) == 0) continue;
    sum += f1(c);
    ++classes;
  }
  return classes == 0 ? 0.0 : sum / static_cast<double>(classes);
}

}  // namespace mtst
