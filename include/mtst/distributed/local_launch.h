// `--nproc N`: starts N ranks of this program on this host, as torchrun --nproc-per-node N
// would (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, a free MASTER_PORT), and
// supervises them: SIGINT/SIGTERM are passed on to every rank; when one rank fails, it is named
// in one line, the others are stopped (SIGTERM, then SIGKILL after a grace period) and the
// launcher exits 1.
#pragma once

#include <string>
#include <vector>

namespace mtst {

// Runs /proc/self/exe ARGS as each rank; returns the exit code for the launcher: 0 when every
// rank exited 0, else 1.
int launch_local_ranks(int nproc, const std::vector<std::string>& args);

}  // namespace mtst
