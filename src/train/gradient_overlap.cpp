// GradientOverlap (see gradient_overlap.h).
#include "train/gradient_overlap.h"

#include <ATen/core/grad_mode.h>

#include <utility>

#include "mtst/error.h"

namespace mtst {

GradientOverlap::GradientOverlap(std::vector<at::Tensor> parameters, std::vector<size_t> owners,
                                 size_t num_owners, Communicator& communicator, Sizes sizes)
    : parameters_(std::move(parameters)),
      owners_(std::move(owners)),
      num_owners_(num_owners),
      communicator_(communicator),
      sizes_(sizes),
      known_(parameters_.size(), Known::kNotYet),
      bucket_of_(parameters_.size(), -1),
      offset_of_(parameters_.size(), 0),
      expected_here_(parameters_.size(), false),
      arrived_(parameters_.size(), false) {
  if (owners_.size() != parameters_.size()) {
    throw Error("gradient overlap: one owner per parameter is needed");
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (owners_[i] >= num_owners_) throw Error("gradient overlap: an owner is out of range");
    hooks_.push_back(
        parameters_[i].register_hook([this, i](const at::Tensor& g) { arrive(i, g); }));
  }
}

GradientOverlap::~GradientOverlap() {
  for (size_t i = 0; i < hooks_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

bool GradientOverlap::knows(const std::vector<bool>& owners_anywhere) const {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (owners_anywhere.at(owners_[i]) && known_[i] == Known::kNotYet) return false;
  }
  return true;
}

void GradientOverlap::learn(const std::vector<bool>& gradient_anywhere,
                            const std::vector<bool>& owners_anywhere) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!owners_anywhere.at(owners_[i])) continue;
    // Once seen with a gradient, always bucketed: the presence flags cover a step without one.
    if (gradient_anywhere.at(i)) {
      known_[i] = Known::kGetsGradient;
    } else if (known_[i] == Known::kNotYet) {
      known_[i] = Known::kNever;
    }
  }
}

void GradientOverlap::cut_buckets(const std::vector<bool>& owners_anywhere) {
  buckets_.clear();
  std::vector<int64_t> numels;
  int64_t bytes = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    bucket_of_[k] = -1;
    if (!owners_anywhere[owners_[k]] || known_[k] != Known::kGetsGradient) continue;
    const auto& p = parameters_[k];
    const int64_t cap = buckets_.size() <= 1 ? sizes_.first_bucket_bytes : sizes_.bucket_bytes;
    if (buckets_.empty() || bytes >= cap ||
        parameters_[buckets_.back().members[0]].scalar_type() != p.scalar_type()) {
      buckets_.emplace_back();
      numels.push_back(0);
      bytes = 0;
    }
    bucket_of_[k] = static_cast<int64_t>(buckets_.size()) - 1;
    offset_of_[k] = numels.back();
    buckets_.back().members.push_back(k);
    numels.back() += sent_numel(k);
    bytes += sent_numel(k) * static_cast<int64_t>(p.element_size());
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto& first = parameters_[buckets_[b].members[0]];
    buckets_[b].flat = at::empty({numels[b]}, first.options().requires_grad(false));
  }
}

int64_t GradientOverlap::sent_numel(size_t index) const {
  const auto& p = parameters_[index];
  const auto rows = rows_.find(index);
  if (rows == rows_.end()) return p.numel();
  return rows->second.numel() * (p.numel() / p.size(0));
}

at::Tensor GradientOverlap::slot(size_t index) const {
  const auto& bucket = buckets_[static_cast<size_t>(bucket_of_[index])];
  return bucket.flat.narrow(0, offset_of_[index], sent_numel(index));
}

// The summed gradient of a bucketed parameter, in its shape (rows sent: zeros elsewhere).
at::Tensor GradientOverlap::summed_gradient(size_t index) const {
  const auto& p = parameters_[index];
  const auto rows = rows_.find(index);
  if (rows == rows_.end()) return slot(index).view(p.sizes());
  auto shape = p.sizes().vec();
  shape[0] = rows->second.numel();
  return at::zeros_like(p).index_copy_(0, rows->second, slot(index).view(shape));
}

void GradientOverlap::begin(const std::vector<bool>& owners_here,
                            const std::vector<bool>& owners_anywhere, int64_t step,
                            std::map<size_t, at::Tensor> rows) {
  if (owners_here.size() != num_owners_ || owners_anywhere.size() != num_owners_) {
    throw Error("gradient overlap: one presence flag per owner is needed");
  }
  if (!knows(owners_anywhere)) throw Error("gradient overlap: the step's parameters are unknown");
  for (const auto& [index, subset] : rows) {
    if (index >= parameters_.size() || subset.scalar_type() != at::kLong || subset.dim() != 1 ||
        parameters_[index].dim() < 1) {
      throw Error("gradient overlap: rows must be a 1-D int64 tensor of a parameter's rows");
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  when_ = "at step " + std::to_string(step + 1);
  rows_ = std::move(rows);
  cut_buckets(owners_anywhere);
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    arrived_[i] = false;
    expected_here_[i] = bucket_of_[i] >= 0 && owners_here[owners_[i]];
    if (bucket_of_[i] < 0) continue;
    if (expected_here_[i]) {
      ++buckets_[static_cast<size_t>(bucket_of_[i])].pending;
    } else {
      slot(i).zero_();  // its gradient exists on other ranks only
    }
  }
  surprises_ = 0;
  next_ = 0;
  started_in_backward_ = 0;
  failure_ = nullptr;
  armed_ = true;
  start_ready(false);
}

void GradientOverlap::arrive(size_t index, const at::Tensor& gradient) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || !gradient.defined()) return;  // a step summed by sum_gradients, or no gradient
  if (!expected_here_[index] || arrived_[index]) {
    ++surprises_;
    return;
  }
  arrived_[index] = true;
  at::NoGradGuard no_grad;
  const auto rows = rows_.find(index);
  slot(index).copy_(
      (rows == rows_.end() ? gradient : gradient.index_select(0, rows->second)).reshape({-1}));
  auto& bucket = buckets_[static_cast<size_t>(bucket_of_[index])];
  if (--bucket.pending == 0 && !failure_) {
    try {
      start_ready(true);
    } catch (...) {
      failure_ = std::current_exception();  // rethrown by finish, outside autograd
    }
  }
}

void GradientOverlap::start_ready(bool in_backward) {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    communicator_.start_allreduce_sum(buckets_[next_].flat,
                                      "gradient all-reduce " + when_ + " (bucket " +
                                          std::to_string(next_ + 1) + " of " +
                                          std::to_string(buckets_.size()) + ")");
    ++next_;
    if (in_backward) ++started_in_backward_;
  }
}

int64_t GradientOverlap::bucket_bytes() const {
  int64_t bytes = 0;
  for (const auto& bucket : buckets_) bytes += bucket.flat.nbytes();
  return bytes;
}

at::Tensor GradientOverlap::presence_flags() const {
  // One flag per parameter, and last the count of gradients the plan did not foresee.
  auto flags = at::zeros({static_cast<int64_t>(parameters_.size()) + 1}, at::kInt);
  auto* f = flags.data_ptr<int32_t>();
  for (size_t i = 0; i < parameters_.size(); ++i) f[i] = arrived_[i] ? 1 : 0;
  f[parameters_.size()] = static_cast<int32_t>(surprises_);
  return flags;
}

void GradientOverlap::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) throw Error("gradient overlap: finish without begin");
  armed_ = false;
  if (failure_) std::rethrow_exception(failure_);
  at::NoGradGuard no_grad;
  for (size_t b = next_; b < buckets_.size(); ++b) {
    for (size_t i : buckets_[b].members) {
      if (expected_here_[i] && !arrived_[i]) slot(i).zero_();  // backward gave it none here
    }
    buckets_[b].pending = 0;
  }
  start_ready(false);
  const auto flags = presence_flags();
  communicator_.start_allreduce_sum(flags, "gradient presence " + when_);
  communicator_.wait_started();
  const auto* f = flags.data_ptr<int32_t>();
  if (f[parameters_.size()] > 0) {
    throw Error("gradient overlap " + when_ +
                ": a parameter got a gradient that the step's plan did not foresee; train with "
                "--no-grad-overlap");
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto p = parameters_[i];
    if (bucket_of_[i] >= 0 && f[i] > 0) {
      p.mutable_grad() = summed_gradient(i);
    } else {
      p.mutable_grad().reset();
    }
  }
}

}  // namespace mtst
