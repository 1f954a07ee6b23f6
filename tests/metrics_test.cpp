// Tests for mtst::ConfusionMatrix: a hand-computed 3-class case, classes absent from the truth
// or from both sides, the empty matrix and out-of-range labels. Expected values are worked out
// in the comments (they match scikit-learn with zero_division=0).
#include "mtst/train/metrics.h"

#include <gtest/gtest.h>

#include <vector>

#include "mtst/error.h"

namespace mtst {
namespace {

ConfusionMatrix filled(size_t num_classes, const std::vector<int64_t>& truth,
                       const std::vector<int64_t>& predicted) {
  ConfusionMatrix matrix(num_classes);
  for (size_t i = 0; i < truth.size(); ++i) matrix.add(truth[i], predicted[i]);
  return matrix;
}

// truth [0,0,1,1,2,2,2], pred [0,1,1,1,2,0,2]:
//   rows (truth) x cols (pred): [[1,1,0], [0,2,0], [1,0,2]]
//   tp = 1, 2, 2 -> accuracy 5/7; support (row sums) 2, 2, 3; predicted (col sums) 2, 3, 2
//   precision = tp/pred:    1/2, 2/3, 2/2
//   recall    = tp/support: 1/2, 2/2, 2/3
//   f1 = 2tp/(support+pred): 2/4 = 0.5, 4/5 = 0.8, 4/5 = 0.8 -> macro (0.5+0.8+0.8)/3 = 0.7
TEST(ConfusionMatrixTest, ThreeClassCaseByHand) {
  const ConfusionMatrix m = filled(3, {0, 0, 1, 1, 2, 2, 2}, {0, 1, 1, 1, 2, 0, 2});
  const std::vector<std::vector<size_t>> expected = {{1, 1, 0}, {0, 2, 0}, {1, 0, 2}};
  for (size_t t = 0; t < 3; ++t) {
    for (size_t p = 0; p < 3; ++p) EXPECT_EQ(m.count(t, p), expected[t][p]) << t << "," << p;
  }
  EXPECT_EQ(m.total(), 7u);
  EXPECT_DOUBLE_EQ(m.accuracy(), 5.0 / 7.0);
  EXPECT_EQ(m.support(0), 2u);
  EXPECT_EQ(m.support(1), 2u);
  EXPECT_EQ(m.support(2), 3u);
  EXPECT_EQ(m.predicted(1), 3u);
  EXPECT_DOUBLE_EQ(m.precision(0), 0.5);
  EXPECT_DOUBLE_EQ(m.precision(1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.precision(2), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(0), 0.5);
  EXPECT_DOUBLE_EQ(m.recall(1), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(2), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.f1(0), 0.5);
  EXPECT_DOUBLE_EQ(m.f1(1), 0.8);
  EXPECT_DOUBLE_EQ(m.f1(2), 0.8);
  EXPECT_DOUBLE_EQ(m.macro_f1(), 0.7);
}

// A fourth class that occurs in neither truth nor predictions changes nothing: all its ratios
// are 0 and macro F1 leaves it out (still 0.7).
TEST(ConfusionMatrixTest, ClassAbsentFromBothSidesIsLeftOutOfMacroF1) {
  const ConfusionMatrix m = filled(4, {0, 0, 1, 1, 2, 2, 2}, {0, 1, 1, 1, 2, 0, 2});
  EXPECT_EQ(m.support(3), 0u);
  EXPECT_EQ(m.precision(3), 0.0);
  EXPECT_EQ(m.recall(3), 0.0);
  EXPECT_EQ(m.f1(3), 0.0);
  EXPECT_DOUBLE_EQ(m.macro_f1(), 0.7);
  EXPECT_DOUBLE_EQ(m.accuracy(), 5.0 / 7.0);
}

// truth [0,0], pred [0,2] with 3 classes:
//   class 0: tp 1, pred 1, support 2 -> precision 1, recall 1/2, f1 2/3
//   class 2: tp 0, pred 1, support 0 -> precision 0, recall undefined -> 0, f1 0 (counted)
//   class 1: in neither -> left out; macro = (2/3 + 0) / 2 = 1/3; accuracy 1/2
TEST(ConfusionMatrixTest, PredictedButNeverTrueClassCountsAsZero) {
  const ConfusionMatrix m = filled(3, {0, 0}, {0, 2});
  EXPECT_DOUBLE_EQ(m.precision(0), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(0), 0.5);
  EXPECT_DOUBLE_EQ(m.f1(0), 2.0 / 3.0);
  EXPECT_EQ(m.precision(2), 0.0);
  EXPECT_EQ(m.recall(2), 0.0);
  EXPECT_EQ(m.f1(2), 0.0);
  EXPECT_DOUBLE_EQ(m.macro_f1(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.5);
}

// truth [1,1], pred [0,0]: nothing right -> accuracy 0, every f1 0, macro 0.
TEST(ConfusionMatrixTest, AllWrong) {
  const ConfusionMatrix m = filled(2, {1, 1}, {0, 0});
  EXPECT_EQ(m.accuracy(), 0.0);
  EXPECT_EQ(m.f1(0), 0.0);
  EXPECT_EQ(m.f1(1), 0.0);
  EXPECT_EQ(m.macro_f1(), 0.0);
}

TEST(ConfusionMatrixTest, PerfectPredictions) {
  const ConfusionMatrix m = filled(2, {0, 1, 1}, {0, 1, 1});
  EXPECT_EQ(m.accuracy(), 1.0);
  EXPECT_EQ(m.macro_f1(), 1.0);
}

// Documented choice: an empty matrix reads 0 everywhere (never NaN).
TEST(ConfusionMatrixTest, EmptyMatrixIsAllZero) {
  const ConfusionMatrix m(3);
  EXPECT_EQ(m.total(), 0u);
  EXPECT_EQ(m.accuracy(), 0.0);
  EXPECT_EQ(m.precision(1), 0.0);
  EXPECT_EQ(m.recall(1), 0.0);
  EXPECT_EQ(m.f1(1), 0.0);
  EXPECT_EQ(m.macro_f1(), 0.0);
  EXPECT_EQ(m.support(1), 0u);
}

TEST(ConfusionMatrixTest, OutOfRangeLabelsAreErrorsAndNotCounted) {
  ConfusionMatrix m(3);
  EXPECT_THROW(m.add(-1, 0), Error);
  EXPECT_THROW(m.add(0, -1), Error);
  EXPECT_THROW(m.add(3, 0), Error);
  EXPECT_THROW(m.add(0, 3), Error);
  EXPECT_EQ(m.total(), 0u);
  m.add(2, 2);
  EXPECT_EQ(m.total(), 1u);
  EXPECT_THROW(m.count(3, 0), Error);
  EXPECT_THROW(m.precision(3), Error);
  EXPECT_THROW(m.support(3), Error);
  EXPECT_THROW(ConfusionMatrix(0), Error);
}

TEST(ConfusionMatrixTest, ErrorMessageNamesTheLabels) {
  ConfusionMatrix m(2);
  try {
    m.add(5, 1);
    FAIL() << "expected mtst::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truth 5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0..1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mtst
