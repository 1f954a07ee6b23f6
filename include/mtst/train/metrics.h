// A confusion matrix for single-label classification and the metrics read from it: accuracy,
// per-class precision / recall / F1 and macro F1. Undefined ratios are 0 (scikit-learn's
// zero_division=0). It counts labels only: no probabilities, thresholds, averaging by support
// or multi-label cases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mtst {

class ConfusionMatrix {  // rows = true class, cols = predicted
 public:
  // mtst::Error for num_classes 0.
  explicit ConfusionMatrix(size_t num_classes);

  // Labels must lie in [0, num_classes); anything else is an mtst::Error (nothing is counted).
  void add(int64_t truth, int64_t predicted);

  size_t num_classes() const { return num_classes_; }
  size_t count(size_t truth, size_t predicted) const;
  size_t total() const { return total_; }
  size_t support(size_t c) const;    // examples whose true class is c (row sum)
  size_t predicted(size_t c) const;  // examples predicted as c (column sum)

  // Correct / total; 0 for an empty matrix.
  double accuracy() const;
  // tp / (tp + fp), tp / (tp + fn) and their harmonic mean; 0 where the denominator is 0.
  double precision(size_t c) const;
  double recall(size_t c) const;
  double f1(size_t c) const;
  // Unweighted mean of f1(c) over the classes that occur in the truth or the predictions; a
  // class absent from both is left out (as scikit-learn does when it infers the labels). 0 for
  // an empty matrix.
  double macro_f1() const;

 private:
  void check_class(size_t c) const;

  size_t num_classes_;
  size_t total_ = 0;
  std::vector<size_t> counts_;  // row-major, num_classes_ x num_classes_
};

}  // namespace mtst
