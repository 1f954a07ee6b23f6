// Communicator on c10d: TCPStore rendezvous, ProcessGroupGloo collectives (see communicator.h).
// libtorch 1.13's ProcessGroupGloo is a ProcessGroup, 2.x's a Backend; the calls used here
// (allreduce, broadcast, allgather, barrier, Work::wait) are spelled the same in both.
#include "mtst/distributed/communicator.h"

// libtorch 2.x hides the Gloo process group behind USE_C10D_GLOO. The PyPI wheel's CMake config
// defines it and Debian 13's does not, although both libraries are built with Gloo.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif

#include <torch/version.h>

#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <utility>
#include <vector>

#include "mtst/error.h"

namespace mtst {

namespace {

// c10d's messages carry a C++ backtrace after the first line; the user needs the first line.
std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

std::shared_ptr<::gloo::transport::Device> gloo_device() {
  // As torch.distributed: GLOO_SOCKET_IFNAME names the interface, else the host name's address.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

// Every collective is preceded by a progress note in the store: "progress/<rank>" = how many
// collectives this rank has begun. All ranks run the same sequence of collectives, so when one
// times out, a peer whose count is lower never reached it: that is the rank to name.
struct Communicator::Impl {
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  int64_t begun = 0;
  struct InFlight {
    std::string what;
    int64_t number = 0;  // this rank's count of collectives begun, this one included
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<InFlight> started;

  using Launch = std::function<c10::intrusive_ptr<c10d::Work>()>;
  void run(const DistEnv& env, const std::string& what, const Launch& launch);
  InFlight begin(const DistEnv& env, const std::string& what, const Launch& launch);
  void finish(const DistEnv& env, const InFlight& collective);
  [[noreturn]] void fail(const DistEnv& env, const std::string& what, int64_t number,
                         const std::exception& e);
  void note_progress(const DistEnv& env, const std::string& what);
  std::string who_is_behind(const DistEnv& env, int64_t number);
};

Communicator::Communicator(const DistEnv& env, std::chrono::milliseconds timeout)
    : env_(env), impl_(std::make_unique<Impl>()) {
  // torchrun's agent hosts a TCPStore at MASTER_PORT. libtorch 2.x speaks its protocol;
  // 1.13's client does not (2.0 added a handshake and renumbered the queries), so a 1.13
  // build has rank 0 (on the MASTER_ADDR host in torchrun's rendezvous) host its own store
  // one port up.
  const bool use_agent_store = env.agent_store && TORCH_VERSION_MAJOR >= 2;
  const int port = env.agent_store && !use_agent_store ? env.master_port + 1 : env.master_port;
  const std::string where = "rendezvous at " + env.master_addr + ":" + std::to_string(port) +
                            " (rank " + std::to_string(env.rank) + " of " +
                            std::to_string(env.world_size) + ")";
  if (port > 65535)
    throw Error(where + ": MASTER_PORT + 1 is no port (libtorch 1.13 under torchrun)");
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = env.rank == 0 && !use_agent_store;
    options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = false;
    options.timeout = timeout;
#if TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR >= 202
    // The classic server: libuv's is the default since 2.4, and Debian 13's 2.6 is built
    // without libuv. Clients speak the same protocol to either.
    options.useLibUV = false;
#endif
    impl_->tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    // Keys of our own, apart from the agent's, and fresh for a restarted attempt.
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(
        "mtst/attempt_" + std::to_string(env.restart_count), impl_->tcp);
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo->devices.push_back(gloo_device());
    impl_->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, gloo);
  } catch (const c10::Error& e) {
    throw Error(where + " failed: " + first_line(e.what()));
  } catch (const std::exception& e) {
    throw Error(where + " failed: " + first_line(e.what()));
  }
}

Communicator::~Communicator() = default;

namespace {

// Gloo's words for a peer that is gone or silent.
bool peer_lost(const std::string& message) {
  // "pair closure": a collective in flight beside one that timed out (Gloo closed the pair).
  for (const char* sign : {"Connection closed", "Connection reset", "Timed out", "timed out",
                           "Broken pipe", "Connection refused", "pair closure"}) {
    if (message.find(sign) != std::string::npos) return true;
  }
  return false;
}

std::string rank_of(const DistEnv& env) {
  return "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
}

std::string progress_key(int rank) { return "progress/" + std::to_string(rank); }

}  // namespace

void Communicator::Impl::note_progress(const DistEnv& env, const std::string& what) {
  const std::string count = std::to_string(++begun);
  try {
    store->set(progress_key(env.rank), std::vector<uint8_t>(count.begin(), count.end()));
  } catch (const std::exception& e) {
    throw Error(rank_of(env) + ": " + what +
                " failed: the job's store stopped answering (its host, rank 0 or torchrun's "
                "agent, exited or hung): " +
                first_line(e.what()));
  }
}

namespace {

constexpr const char* kStoreSilent =
    "another rank exited or hung, and the job's store does not answer either: its host (rank 0, "
    "or torchrun's agent) is the likely one";

// The ranks whose progress note is below BEGUN (the failed collective's number), in words.
std::string describe_laggards(c10d::Store& store, const DistEnv& env, int64_t begun) {
  std::string ranks, counts;
  int late = 0;
  for (int r = 0; r < env.world_size; ++r) {
    if (r == env.rank) continue;
    int64_t count = 0;
    if (store.check({progress_key(r)})) {
      const auto bytes = store.get(progress_key(r));
      count = std::stoll(std::string(bytes.begin(), bytes.end()));
    }
    if (count >= begun) continue;
    ranks += (late ? ", " : "") + std::to_string(r);
    counts += (late++ ? ", " : "") + std::to_string(count);
  }
  if (late == 0 && env.world_size == 2) {
    return "rank " + std::to_string(1 - env.rank) +
           " began it too, then stopped answering: it exited or hung inside it, or the network "
           "between the two failed";
  }
  if (late == 0) {
    return "every rank began it, so one exited or hung inside it, or the network between the "
           "ranks failed";
  }
  const bool one = late == 1;
  return std::string(one ? "rank " : "ranks ") + ranks + " never began it (" +
         (one ? "it" : "they") + " began " + counts +
         (counts == "1" ? " collective" : " collectives") + ", this rank " + std::to_string(begun) +
         "): " + (one ? "it" : "they") + " exited or hung before it";
}

}  // namespace

std::string Communicator::Impl::who_is_behind(const DistEnv& env, int64_t number) {
  // The store may be as silent as the peer (its host hung), and not every libtorch bounds a
  // store query by the store's timeout (2.11's check() waits on): ask on a thread of its own
  // and wait 5 s at most. A thread left waiting holds its own references to the store.
  auto answer = std::make_shared<std::promise<std::string>>();
  auto future = answer->get_future();
  std::thread([answer, store = store, tcp = tcp, env, number] {
    try {
      tcp->setTimeout(std::chrono::seconds(5));
      answer->set_value(describe_laggards(*store, env, number));
    } catch (const std::exception&) {
      answer->set_value(kStoreSilent);
    }
  }).detach();
  if (future.wait_for(std::chrono::seconds(6)) != std::future_status::ready) return kStoreSilent;
  return future.get();
}

void Communicator::Impl::fail(const DistEnv& env, const std::string& what, int64_t number,
                              const std::exception& e) {
  const std::string detail = first_line(e.what());
  throw Error(rank_of(env) + ": " + what +
              " failed: " + (peer_lost(detail) ? who_is_behind(env, number) + ": " : "") + detail);
}

Communicator::Impl::InFlight Communicator::Impl::begin(const DistEnv& env, const std::string& what,
                                                       const Launch& launch) {
  note_progress(env, what);
  try {
    return {what, begun, launch()};
  } catch (const std::exception& e) {
    fail(env, what, begun, e);
  }
}

void Communicator::Impl::finish(const DistEnv& env, const InFlight& collective) {
  try {
    collective.work->wait();
  } catch (const std::exception& e) {
    fail(env, collective.what, collective.number, e);
  }
}

void Communicator::Impl::run(const DistEnv& env, const std::string& what, const Launch& launch) {
  finish(env, begin(env, what, launch));
}

void Communicator::start_allreduce_sum(const at::Tensor& flat, const std::string& what) {
  if (!flat.is_contiguous() || flat.dim() != 1) {
    throw Error("start_allreduce_sum: " + what + ": the tensor must be flat and contiguous");
  }
  std::vector<at::Tensor> tensors{flat};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  impl_->started.push_back(
      impl_->begin(env_, what, [&] { return impl_->group->allreduce(tensors, options); }));
}

void Communicator::wait_started() {
  auto started = std::move(impl_->started);
  impl_->started.clear();
  for (const auto& collective : started) impl_->finish(env_, collective);
}

void Communicator::allreduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) {
  // One flat buffer per dtype: Gloo reduces a list of same-shaped tensors, and one message per
  // bucket is also what makes many small gradients cheap to send.
  std::map<at::ScalarType, std::vector<at::Tensor*>> by_dtype;
  for (auto& t : tensors) by_dtype[t.scalar_type()].push_back(&t);
  for (auto& [dtype, group] : by_dtype) {
    std::vector<at::Tensor> flat_parts;
    for (const auto* t : group) flat_parts.push_back(t->reshape({-1}));
    std::vector<at::Tensor> bucket{at::cat(flat_parts)};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    impl_->run(env_, what, [&] { return impl_->group->allreduce(bucket, options); });
    int64_t offset = 0;
    for (auto* t : group) {
      t->copy_(bucket[0].narrow(0, offset, t->numel()).view(t->sizes()));
      offset += t->numel();
    }
  }
}

void Communicator::allreduce_max(at::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  impl_->run(env_, what, [&] { return impl_->group->allreduce(tensors, options); });
}

void Communicator::broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    impl_->run(env_, what, [&] { return impl_->group->broadcast(one, options); });
  }
}

at::Tensor Communicator::allgather_rows(const at::Tensor& local, const std::string& what) {
  // Gloo gathers equal shapes: row counts first, then every part padded to the longest.
  auto counts = at::zeros({env_.world_size}, at::kLong);
  counts[env_.rank] = local.size(0);
  std::vector<at::Tensor> count_list{counts};
  allreduce_sum(count_list, what + " (row counts)");
  const int64_t longest = counts.max().item<int64_t>();
  auto shape = local.sizes().vec();
  shape[0] = longest;
  auto padded = at::zeros(shape, local.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  std::vector<at::Tensor> inputs{padded};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < env_.world_size; ++r) outputs[0].push_back(at::empty(shape, local.options()));
  impl_->run(env_, what, [&] { return impl_->group->allgather(outputs, inputs); });
  std::vector<at::Tensor> parts;
  for (int r = 0; r < env_.world_size; ++r) {
    parts.push_back(outputs[0][static_cast<size_t>(r)].narrow(0, 0, counts[r].item<int64_t>()));
  }
  return at::cat(parts);
}

void Communicator::barrier(const std::string& what) {
  impl_->run(env_, what, [&] { return impl_->group->barrier(); });
}

}  // namespace mtst
