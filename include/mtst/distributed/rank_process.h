// One process of a job: how a command runs its work as a rank. Alone (WORLD_SIZE unset or 1)
// the work runs as it is; as a rank of a job it gets a Communicator, and an error ends the
// process at once after its one line, since c10d's threads (Gloo's, the store's) may still
// wait on a silent peer and the destructors at exit would wait with them.
#pragma once

#include <chrono>
#include <functional>

#include "mtst/distributed/communicator.h"

namespace mtst {

// Runs WORK with this process's communicator (null when it is not a rank of a job).
// TIMEOUT bounds the rendezvous and every collective (> 0, else mtst::Error).
void run_as_rank(const DistEnv& env, std::chrono::milliseconds timeout,
                 const std::function<void(Communicator*)>& work);

}  // namespace mtst
