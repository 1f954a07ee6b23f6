// Data-parallel gradient sums started while backward still runs, as DDP's reducer does, with
// the same result as sum_gradients (gradient_sync.h), which stays the reference path.
//
// Every trainable parameter has an owner: the encoder, or one task's head. Which owners have
// rows on which rank follows from the step's global plan, which every rank holds, so before
// backward each rank knows which parameters get a gradient here and which get one somewhere.
// From that every rank cuts the same buckets, in reverse parameter order (the order backward
// reaches them), the first one small so that sending starts early. A hook on each parameter
// copies its gradient into its bucket; a bucket whose gradients are all in starts its
// all-reduce, strictly in bucket order, because Gloo pairs collectives across ranks by order.
// After backward the rest start, then a sum of 0/1 presence flags: a parameter that received a
// gradient on no rank is left without one (AdamW skips it, as in one process), one that
// received it elsewhere only holds the others' sum.
//
// What the plan cannot tell is a parameter that gets no gradient although its owner runs
// (BERT's pooler under mean pooling). That is learnt from steps summed by sum_gradients: a step
// with an owner whose parameters are not all learnt yet goes that way.
//
// A lookup table's gradient is zero outside the rows the step looked up (the word embeddings:
// the step's token ids, which the plan tells every rank too). Given those rows, only they are
// sent, and the gradient is rebuilt with zeros elsewhere: the same sums, a fraction of the
// bytes. Internal to src/train.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mtst/distributed/communicator.h"

namespace mtst {

class GradientOverlap {
 public:
  struct Sizes {
    int64_t first_bucket_bytes = 1 << 20;  // DDP's first bucket is 1 MiB too
    int64_t bucket_bytes = 25 << 20;
  };

  // PARAMETERS as the optimizer holds them; OWNERS[i] in [0, NUM_OWNERS) is the owner of
  // parameters[i]. Registers a gradient hook on every parameter (removed by the destructor).
  GradientOverlap(std::vector<at::Tensor> parameters, std::vector<size_t> owners, size_t num_owners,
                  Communicator& communicator, Sizes sizes);
  ~GradientOverlap();
  GradientOverlap(const GradientOverlap&) = delete;
  GradientOverlap& operator=(const GradientOverlap&) = delete;

  // Whether a step whose owners with rows on some rank are OWNERS_ANYWHERE can be overlapped.
  bool knows(const std::vector<bool>& owners_anywhere) const;
  // Learns from a step summed by sum_gradients, which returned GRADIENT_ANYWHERE.
  void learn(const std::vector<bool>& gradient_anywhere, const std::vector<bool>& owners_anywhere);

  // Arms the hooks for step STEP (0-based), before its forward pass. Requires knows(anywhere).
  // ROWS: for a parameter whose gradient is zero on every rank outside some rows of its first
  // dimension, those rows (sorted, unique, int64); it is sent as those rows only.
  void begin(const std::vector<bool>& owners_here, const std::vector<bool>& owners_anywhere,
             int64_t step, std::map<size_t, at::Tensor> rows = {});
  // After backward (or without one, when this rank has no rows): starts what is left, waits for
  // every sum and leaves each parameter's summed gradient (or none) in its grad.
  void finish();

  // How many buckets the last step started from inside backward, and how many it had.
  int64_t started_in_backward() const { return started_in_backward_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // The gradient bytes the last step's buckets carried.
  int64_t bucket_bytes() const;

 private:
  enum class Known { kNotYet, kGetsGradient, kNever };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> members;
    int64_t pending = 0;  // members expected here whose gradient has not arrived
  };

  void cut_buckets(const std::vector<bool>& owners_anywhere);
  void arrive(size_t index, const at::Tensor& gradient);
  void start_ready(bool in_backward);
  at::Tensor slot(size_t index) const;
  int64_t sent_numel(size_t index) const;
  at::Tensor summed_gradient(size_t index) const;
  at::Tensor presence_flags() const;

  std::vector<at::Tensor> parameters_;
  std::vector<size_t> owners_;
  size_t num_owners_;
  Communicator& communicator_;
  Sizes sizes_;
  std::vector<unsigned> hooks_;
  std::vector<Known> known_;

  // The armed step (guarded by mutex_ while armed: hooks may run on autograd's threads).
  std::mutex mutex_;
  bool armed_ = false;
  std::string when_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> bucket_of_, offset_of_;  // bucket_of_ -1: in none this step
  std::map<size_t, at::Tensor> rows_;           // parameters sent as some rows only
  std::vector<bool> expected_here_, arrived_;
  int64_t surprises_ = 0;  // gradients the plan did not foresee
  size_t next_ = 0;        // the next bucket to start
  int64_t started_in_backward_ = 0;
  std::exception_ptr failure_;  // a start that failed inside a hook
};

}  // namespace mtst
