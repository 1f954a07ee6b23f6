// DistEnv: torchrun's variables, checked, and what they imply for one rank (communicator.h).
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "mtst/distributed/communicator.h"
#include "mtst/error.h"

namespace mtst {

namespace {

const char* variable(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

int integer_variable(const char* name, int fallback, int low, int high) {
  const char* value = variable(name);
  if (value == nullptr) return fallback;
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(value, &end, 10);
  if (errno != 0 || *end != '\0' || parsed < low || parsed > high) {
    throw Error(std::string("environment variable ") + name + "='" + value +
                "' is not an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
                "]");
  }
  return static_cast<int>(parsed);
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv env;
  env.world_size = integer_variable("WORLD_SIZE", 1, 1, 1 << 20);
  if (env.world_size == 1) return env;
  env.rank = integer_variable("RANK", -1, 0, env.world_size - 1);
  if (env.rank < 0) throw Error("WORLD_SIZE is set but RANK is not (launch with torchrun)");
  env.local_rank = integer_variable("LOCAL_RANK", 0, 0, env.world_size - 1);
  env.local_world_size = integer_variable("LOCAL_WORLD_SIZE", 1, 1, env.world_size);
  if (const char* addr = variable("MASTER_ADDR")) env.master_addr = addr;
  env.master_port = integer_variable("MASTER_PORT", env.master_port, 1, 65535);
  const char* agent = variable("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent != nullptr && std::string(agent) == "True";
  env.restart_count = integer_variable("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
  return env;
}

int DistEnv::threads_per_rank(int configured, int cores) const {
  if (configured != 0 || !distributed()) return configured;
  return std::max(1, cores / local_world_size);
}

}  // namespace mtst
