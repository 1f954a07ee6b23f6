// run_as_rank (see rank_process.h).
#include "mtst/distributed/rank_process.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "mtst/error.h"

namespace mtst {

void run_as_rank(const DistEnv& env, std::chrono::milliseconds timeout,
                 const std::function<void(Communicator*)>& work) {
  if (timeout.count() <= 0) throw Error("--dist-timeout must be > 0 seconds");
  if (!env.distributed()) return work(nullptr);
  auto communicator = std::make_unique<Communicator>(env, timeout);
  try {
    work(communicator.get());
  } catch (const std::exception& e) {
    // Checkpoints are whole already (atomic): nothing is lost by leaving now.
    const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
    std::cerr << (ours ? "mtst: error: " : "mtst: internal error: ") << e.what() << std::endl;
    std::_Exit(1);
  }
}

}  // namespace mtst
