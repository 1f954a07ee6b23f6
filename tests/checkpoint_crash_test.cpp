// Crash safety of checkpoints: `mtst train` SIGKILLed at random moments (every other trial: a
// moment anywhere in a run; the others: 0-2 ms into its k-th checkpoint write, k random). Then
// every checkpoint left must load, the run must resume (or start over when killed before its
// first checkpoint) to a final model, and metrics.jsonl must hold each step once. MTST_KILL_TRIALS
// sets the trial count (default 12; scripts/reliability/kill_trials.sh runs 60). Also: atomic
// directory replacement and the recovery of what older versions' two-rename swap left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "mtst/error.h"
#include "mtst/io/atomic_directory.h"
#include "mtst/train/trainer.h"
#include "test_util.h"

namespace mtst {
namespace {

namespace fs = std::filesystem;
using test::quoted;

// Starts `mtst ARGS` (stdout and stderr to LOG) and returns its pid.
pid_t spawn_mtst(const std::string& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd =
        std::string("exec '") + MTST_BINARY + "' " + args + " >'" + log.string() + "' 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::vector<fs::path> hidden_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string()[0] == '.') out.push_back(e.path());
  }
  return out;
}

// Each (type, step) once in metrics.jsonl, steps increasing per type.
void expect_metrics_without_duplicates(const fs::path& file, const std::string& trial) {
  std::istringstream in(test::read_file(file));
  std::set<std::pair<std::string, int64_t>> seen;
  std::map<std::string, int64_t> last;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    const std::string type = j.at("type");
    const int64_t step = j.at("step");
    EXPECT_TRUE(seen.emplace(type, step).second) << trial << ": " << type << " step " << step;
    EXPECT_GT(step, last[type]) << trial << ": " << line;
    last[type] = step;
  }
}

// Returns true once the K-th checkpoint write of RUN is under way (a hidden sibling has appeared
// K times), false when the process PID ended first (its status then in *STATUS).
bool wait_for_write(const fs::path& run, int k, pid_t pid, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int seen = 0;
  bool writing = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, status, WNOHANG) == pid) return false;
    bool now = false;
    try {
      now = !hidden_entries(run).empty();
    } catch (const fs::filesystem_error&) {  // an entry went away while it was listed
    }
    if (now && !writing && ++seen == k) return true;
    writing = now;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

struct Outcomes {
  int before_first_checkpoint = 0, mid_write = 0, between_writes = 0, after_finish = 0;
};

TEST(CheckpointCrash, SigkillAtRandomMomentsAlwaysLeavesAResumableRun) {
  const char* env = std::getenv("MTST_KILL_TRIALS");
  const int trials = env != nullptr ? std::atoi(env) : 12;
  test::TempDir tmp;
  auto j = test::tiny_train_config();
  j["training"]["max_steps"] = 6;
  j["training"]["eval_interval"] = 1;  // last/ and best-*/ written at every step
  test::write_file(tmp / "config.json", j.dump());
  const std::string config = " --quiet --config " + quoted(tmp / "config.json");
  // The length of a whole run sets the window the kills fall in.
  const auto t0 = std::chrono::steady_clock::now();
  const auto full = test::run_mtst("train --output " + quoted(tmp / "full") + config);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const double run_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 random(20261201);
  Outcomes outcomes;
  for (int trial = 0; trial < trials; ++trial) {
    const fs::path run = tmp / ("run" + std::to_string(trial));
    const std::string name = "trial " + std::to_string(trial);
    const pid_t pid = spawn_mtst("train --output " + quoted(run) + config, tmp / "log");
    int status = 0;
    bool reaped = false;
    if (trial % 2 == 0) {  // a moment anywhere in a run's length
      const auto delay = std::uniform_real_distribution<double>(0.0, run_ms)(random);
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(delay * 1000)));
    } else {  // 0-2 ms into the k-th checkpoint write
      const int k = std::uniform_int_distribution<int>(1, 10)(random);
      reaped = !wait_for_write(run, k, pid, &status);
      const auto delay = std::uniform_int_distribution<int>(0, 2000)(random);
      if (!reaped) std::this_thread::sleep_for(std::chrono::microseconds(delay));
    }
    if (!reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    const bool finished = WIFEXITED(status);
    // Every checkpoint directory that exists is complete: it loads and predicts.
    for (const char* dir : {"last", "final", "best-category", "best-sentiment"}) {
      if (!fs::exists(run / dir)) continue;
      const auto r = test::run_mtst("predict --model " + quoted(run / dir), "Is it done?\n");
      EXPECT_EQ(r.exit_code, 0) << name << " " << dir << ": " << r.err;
    }
    const bool left_over = !hidden_entries(run).empty();
    const bool has_last = fs::exists(run / "last");
    outcomes.after_finish += finished;
    outcomes.mid_write += !finished && left_over;
    outcomes.before_first_checkpoint += !finished && !left_over && !has_last;
    outcomes.between_writes += !finished && !left_over && has_last;
    const auto resumed =
        test::run_mtst(has_last ? "train --quiet --resume " + quoted(run)
                                : "train --output " + quoted(run) + config + " --overwrite");
    ASSERT_EQ(resumed.exit_code, 0) << name << ": " << resumed.err;
    EXPECT_TRUE(hidden_entries(run).empty()) << name << ": leftovers after the resume";
    const auto r = test::run_mtst("predict --model " + quoted(run / "final"), "Is it done?\n");
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    expect_metrics_without_duplicates(run / "metrics.jsonl", name);
    fs::remove_all(run);
  }
  std::printf(
      "%d SIGKILL trials: %d before the first checkpoint, %d during a checkpoint write, %d "
      "between writes, %d after the run finished; every one resumed to a final model\n",
      trials, outcomes.before_first_checkpoint, outcomes.mid_write, outcomes.between_writes,
      outcomes.after_finish);
}

// Runs SCRIPT (sh) in a private mount namespace where DIR is a tmpfs of KIB KiB (unprivileged
// user namespaces, or root); returns its exit code, or -1 when such a namespace is refused here.
int run_in_small_tmpfs(const fs::path& dir, int64_t kib, const std::string& script) {
  if (std::system("unshare -rm true >/dev/null 2>&1") != 0) return -1;
  const std::string inner =
      "mount -t tmpfs -o size=" + std::to_string(kib) + "k tmpfs " + quoted(dir) + " && " + script;
  test::write_file(dir.parent_path() / "inner.sh", inner);
  const int status =
      std::system(("unshare -rm sh " + quoted(dir.parent_path() / "inner.sh")).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST(CheckpointCrash, DiskFullDuringASaveIsOneErrorAndKeepsThePreviousCheckpoint) {
  test::TempDir tmp;
  auto j = test::tiny_train_config();
  j["training"]["max_steps"] = 4;
  test::write_file(tmp / "config.json", j.dump());
  const auto first = test::run_mtst("train --quiet --output " + quoted(tmp / "run") + " --config " +
                                    quoted(tmp / "config.json"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  int64_t run_bytes = 0, last_bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "run")) {
    if (!e.is_regular_file()) continue;
    run_bytes += static_cast<int64_t>(e.file_size());
    if (e.path().string().find("/last/") != std::string::npos) {
      last_bytes += static_cast<int64_t>(e.file_size());
    }
  }
  // Room for the run and half of one more checkpoint: the resumed run's next save runs out.
  fs::create_directories(tmp / "small");
  const std::string mtst = std::string("'") + MTST_BINARY + "'";
  const fs::path run = tmp / "small" / "run";
  const std::string script =
      "cp -r " + quoted(tmp / "run") + " " + quoted(run) + " && " + mtst +
      " train --quiet --resume " + quoted(run) + " --set training.max_steps=8 --set " +
      "training.eval_interval=1 >" + quoted(tmp / "out") + " 2>" + quoted(tmp / "err") +
      "; echo $? >" + quoted(tmp / "code") + "; ls -a " + quoted(run) + " >" +
      quoted(tmp / "entries") + "; cat " + quoted(run / "last" / "trainer_state.json") + " >" +
      quoted(tmp / "state") + " && echo 'Is it kept?' | " + mtst + " predict --model " +
      quoted(run / "last") + " >/dev/null 2>" + quoted(tmp / "predict_err");
  const int code =
      run_in_small_tmpfs(tmp / "small", (run_bytes + last_bytes / 2) / 1024 + 64, script);
  if (code == -1) GTEST_SKIP() << "no private mount namespace here (unshare -rm is refused)";
  EXPECT_EQ(code, 0) << "predict on the kept last/: " << test::read_file(tmp / "predict_err");
  EXPECT_EQ(test::read_file(tmp / "code"), "1\n");
  const std::string err = test::read_file(tmp / "err");
  // The first save past the room fails (a best-*/ or last/), before last/ is touched.
  EXPECT_EQ(err.rfind("mtst: error: cannot write " + run.string() + "/", 0), 0u) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(nlohmann::json::parse(test::read_file(tmp / "state")).at("step"), 4);
  const std::string entries = test::read_file(tmp / "entries");
  EXPECT_EQ(entries.find("tmp-"), std::string::npos) << entries;  // nothing half-written left
}

TEST(AtomicDirectory, ReplacesWholeOrNotAtAll) {
  test::TempDir tmp;
  const fs::path dir = tmp / "ckpt";
  write_directory_atomic(dir, [](const fs::path& d) { test::write_file(d / "a", "old"); });
  EXPECT_EQ(test::read_file(dir / "a"), "old");
  EXPECT_THROW(write_directory_atomic(dir,
                                      [](const fs::path& d) {
                                        test::write_file(d / "a", "half");
                                        throw Error("disk full");
                                      }),
               Error);
  EXPECT_EQ(test::read_file(dir / "a"), "old");  // the failed write left the old one
  EXPECT_TRUE(hidden_entries(tmp.path()).empty());
  write_directory_atomic(dir, [](const fs::path& d) { test::write_file(d / "b", "new"); });
  EXPECT_FALSE(fs::exists(dir / "a"));
  EXPECT_EQ(test::read_file(dir / "b"), "new");
  EXPECT_TRUE(hidden_entries(tmp.path()).empty());
}

TEST(AtomicDirectory, RecoversWhatTheOldTwoRenameSwapLeft) {
  // Killed between the two renames of mtst <= 0.1's swap: only .last.old-N and .last.tmp-N.
  test::TempDir tmp;
  fs::create_directories(tmp / ".last.old-41");
  test::write_file(tmp / ".last.old-41" / "mtst.json", "{}");
  fs::create_directories(tmp / ".last.tmp-41");
  const auto log = recover_directory(tmp / "last");
  EXPECT_EQ(test::read_file(tmp / "last" / "mtst.json"), "{}");
  EXPECT_TRUE(hidden_entries(tmp.path()).empty());
  EXPECT_EQ(log.size(), 2u);
  // With last/ present, leftovers are only removed.
  fs::create_directories(tmp / ".last.old-42");
  EXPECT_EQ(recover_directory(tmp / "last").size(), 1u);
  EXPECT_TRUE(fs::exists(tmp / "last" / "mtst.json"));
  EXPECT_TRUE(hidden_entries(tmp.path()).empty());
}

TEST(CheckpointCrash, ResumeRecoversARunLeftByTheOldSwap) {
  test::TempDir tmp;
  auto j = test::tiny_train_config();
  TrainerOptions options;
  options.progress = false;
  options.output_dir = tmp / "run";
  options.interrupt_after_steps = 3;
  Trainer(TrainConfig::from_json(j, ".", "test config"), options).run();
  fs::rename(tmp / "run" / "last", tmp / "run" / ".last.old-7");
  fs::create_directories(tmp / "run" / ".last.tmp-7");
  const auto r = test::run_mtst("train --quiet --resume " + quoted(tmp / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("interrupted checkpoint write: restored"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(tmp / "run" / "final" / "mtst.json"));
  EXPECT_TRUE(hidden_entries(tmp / "run").empty());
}

}  // namespace
}  // namespace mtst
