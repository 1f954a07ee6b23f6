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

// This process's own arguments (argv[1:], from /proc/self/cmdline) without OPTION and its value
// ("--nproc 4" or "--nproc=4"): what each rank of --nproc runs, so a new flag of the command
// reaches the ranks with no edit here.
std::vector<std::string> own_arguments_without(const std::string& option);
// The same over ARGS (argv[1:]).
std::vector<std::string> arguments_without(const std::vector<std::string>& args,
                                           const std::string& option);

}  // namespace mtst
