// A loopback TCP port that was free a moment ago (bound to port 0, then released): the
// rendezvous port of `--nproc`, and the tests' ports.
#pragma once

namespace mtst {

// Throws mtst::Error when no port can be bound.
int free_loopback_port();

}  // namespace mtst
