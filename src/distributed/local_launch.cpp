// launch_local_ranks (see local_launch.h): fork/exec per rank, one supervising loop on
// sigtimedwait (SIGCHLD, SIGINT, SIGTERM blocked in the launcher, unblocked in the ranks).
#include "mtst/distributed/local_launch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <utility>

#include "mtst/distributed/free_port.h"
#include "mtst/error.h"

namespace mtst {

namespace {

constexpr auto kStopGrace = std::chrono::seconds(10);

pid_t start_rank(int rank, int nproc, int port, const std::vector<std::string>& args,
                 const sigset_t& unblock) {
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("--nproc: cannot start a rank: ") + std::strerror(errno));
  if (pid > 0) return pid;
  sigprocmask(SIG_SETMASK, &unblock, nullptr);
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv{const_cast<char*>("mtst")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "mtst: error: --nproc: cannot run rank %d: %s\n", rank,
               std::strerror(errno));
  _exit(127);
}

std::string describe(int status) {
  // mtst's own errors exit 1 after their one line: that line says why (a peer's name, too).
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return "stopped on the error above";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "ended with status " + std::to_string(status);
}

// The failure to name: a rank killed by a signal is the likelier cause than a rank that exited
// with an error because its peer vanished; else the first reaped.
std::pair<int, int> culprit(const std::vector<std::pair<int, int>>& failures) {
  for (const auto& f : failures) {
    if (WIFSIGNALED(f.second)) return f;
  }
  return failures.front();
}

}  // namespace

int launch_local_ranks(int nproc, const std::vector<std::string>& args) {
  if (nproc < 1) throw Error("--nproc must be at least 1");
  sigset_t watched, previous;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM}) sigaddset(&watched, sig);
  sigprocmask(SIG_BLOCK, &watched, &previous);
  const int port = free_loopback_port();
  std::map<pid_t, int> running;  // pid -> rank
  for (int r = 0; r < nproc; ++r) running[start_rank(r, nproc, port, args, previous)] = r;
  using Clock = std::chrono::steady_clock;
  bool interrupted = false, reported = false;
  std::vector<std::pair<int, int>> failures;  // (rank, wait status), in reaping order
  Clock::time_point first_failure{}, kill_at = Clock::time_point::max();
  auto stop_all = [&](int sig) {
    for (const auto& entry : running) {
      kill(entry.first, sig);
      kill(entry.first, SIGCONT);  // a stopped rank (SIGSTOP, a debugger's) takes it now
    }
  };
  while (!running.empty() || (!failures.empty() && !reported)) {
    timespec tick{0, 100 * 1000 * 1000};
    const int sig = running.empty() ? 0 : sigtimedwait(&watched, nullptr, &tick);
    if ((sig == SIGINT || sig == SIGTERM) && !interrupted) {
      interrupted = true;  // the ranks' ends are the user's doing: no rank is blamed
      stop_all(sig);
      kill_at = Clock::now() + kStopGrace;
    }
    int status = 0;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      if (status != 0 && !interrupted) {
        if (failures.empty()) first_failure = Clock::now();
        failures.emplace_back(it->second, status);
      }
      running.erase(it);
    }
    // Failures reaped within a moment of the first are one event: name its likely cause.
    if (!failures.empty() && !reported &&
        (running.empty() || Clock::now() - first_failure > std::chrono::milliseconds(500))) {
      reported = true;
      const auto [rank, why] = culprit(failures);
      std::cerr << "mtst: error: rank " << rank << " of " << nproc << " " << describe(why)
                << (running.empty() ? "" : "; stopping the other ranks") << "\n";
      stop_all(SIGTERM);
      kill_at = Clock::now() + kStopGrace;
    }
    if (!running.empty() && Clock::now() >= kill_at) {
      stop_all(SIGKILL);
      kill_at = Clock::now() + kStopGrace;
    }
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  return !failures.empty() || interrupted ? 1 : 0;
}

std::vector<std::string> arguments_without(const std::vector<std::string>& args,
                                           const std::string& option) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == option) {
      ++i;  // and its value
    } else if (args[i].rfind(option + "=", 0) != 0) {
      out.push_back(args[i]);
    }
  }
  return out;
}

std::vector<std::string> own_arguments_without(const std::string& option) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (args.empty()) throw Error("--nproc: cannot read this process's arguments");
  args.erase(args.begin());  // argv[0]: the ranks run /proc/self/exe
  return arguments_without(args, option);
}

}  // namespace mtst
