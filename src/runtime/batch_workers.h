// Runs independent batches on several worker threads, each with a one-thread OpenMP team.
// Why: for bulk encoding on few cores, batch-level parallelism keeps every core in its own
// GEMM with no fork/join barrier per operator (libgomp spin-waits were ~17% of a profile of
// the intra-op version). Interactive single-batch work keeps intra-op threads instead.
#pragma once

#include <cstddef>
#include <functional>

namespace mtst {

// Calls fn(i) for i in [0, count) on WORKERS threads of a process-wide pool (kept between calls,
// so a server does not start threads per batch; dynamic scheduling, so uneven batch costs
// balance out). workers <= 1, or a call from a pool thread, runs inline on the caller with its
// own thread settings. Concurrent callers take turns. The first exception thrown by fn is
// rethrown here after every worker has stopped.
void for_each_batch(size_t count, int workers, const std::function<void(size_t)>& fn);

}  // namespace mtst
