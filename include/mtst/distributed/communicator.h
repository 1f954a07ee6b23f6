// One rank's membership in a torch.distributed job: the rendezvous (c10d TCPStore, as torchrun
// and init_process_group use it) and the collectives mtst's data-parallel training needs, on
// c10d's ProcessGroupGloo. Every failure (a peer gone, a timeout) is an mtst::Error naming the
// operation and this rank.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mtst {

// What torchrun (or `mtst train --nproc`) tells a rank through its environment.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // LOCAL_WORLD_SIZE: the ranks on this host
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE: torchrun's agent hosts the store
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT: keys of a restarted attempt differ
  bool distributed() const { return world_size > 1; }
  // Threads of one rank when the user asked for all of CORES: the host's cores shared by its
  // ranks (CONFIGURED != 0, or one rank: CONFIGURED as it is).
  int threads_per_rank(int configured, int cores) const;

  // Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT and TORCHELASTIC_*; without
  // WORLD_SIZE the job is one rank. Throws mtst::Error for a malformed or inconsistent value.
  static DistEnv from_environment();
};

class Communicator {
 public:
  // Joins the job: rank 0 hosts the TCPStore (unless torchrun's agent does), every rank connects
  // and ProcessGroupGloo sets up its pairs. TIMEOUT bounds the rendezvous and every collective.
  Communicator(const DistEnv& env, std::chrono::milliseconds timeout);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }

  // Element-wise sum over ranks, in place, of contiguous CPU tensors.
  void allreduce_sum(std::vector<at::Tensor>& tensors, const std::string& what);
  // Starts an element-wise sum over ranks of FLAT (one contiguous CPU tensor), in place, and
  // returns at once: Gloo runs it on its own threads while the caller computes. Collectives
  // pair up across ranks by the order they begin, so every rank must begin the same ones in
  // the same order. wait_started() finishes every started one, in that order; FLAT must not be
  // touched until then.
  void start_allreduce_sum(const at::Tensor& flat, const std::string& what);
  void wait_started();
  // Element-wise max over ranks, in place.
  void allreduce_max(at::Tensor& tensor, const std::string& what);
  // ROOT's values into every rank's tensors, in place.
  void broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what);
  // Every rank's rows (same trailing shape, any row count) concatenated in rank order.
  at::Tensor allgather_rows(const at::Tensor& local, const std::string& what);
  void barrier(const std::string& what);

 private:
  struct Impl;
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mtst
